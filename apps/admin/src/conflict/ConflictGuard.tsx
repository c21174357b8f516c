// "Changed by someone else" for a record open in an edit form. Two ways in: the live feed says
// the record changed under the form (someone else's write, not this tab's), or a save came back
// 409 because the form's `version` is stale. Either way the user chooses: load the latest
// version (dropping their edits), or keep their edits on top of the latest version and save
// again. Nothing is overwritten silently.
import { Alert, AlertTitle, Button, Stack } from '@mui/material';
import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';
import {
  Edit,
  SimpleForm,
  useEditContext,
  useNotify,
  useRecordContext,
  type EditProps,
  type HttpError,
  type SimpleFormProps,
} from 'react-admin';
import { useFormContext } from 'react-hook-form';
import { useEditedRecord } from '../live/LiveProvider';

interface Conflict {
  /** Why: a live notice, or a refused save. */
  kind: 'remote' | 'refused';
  version?: number;
}

const ConflictContext = createContext<{ conflict: Conflict | null; setConflict: (c: Conflict | null) => void } | null>(null);

/** Edit with pessimistic saves and a 409 turned into the conflict notice (not a toast). */
export function LiveEdit(props: EditProps & { children: ReactNode }) {
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const notify = useNotify();
  const { mutationOptions, ...rest } = props;
  return (
    <ConflictContext.Provider value={{ conflict, setConflict }}>
      <Edit
        mutationMode="pessimistic"
        {...rest}
        mutationOptions={{
          ...mutationOptions,
          onError: (error: unknown) => {
            const e = error as HttpError;
            if (e?.status === 409 && (e.body as { reason?: string })?.reason === 'VERSION_MISMATCH') {
              setConflict({ kind: 'refused' });
            } else if (!e?.body?.errors || Object.keys(e.body.errors).length === 0) {
              // Field errors are shown next to their fields; anything else as a message.
              notify(e?.message || 'ra.notification.http_error', { type: 'error' });
            }
          },
        }}
      />
    </ConflictContext.Provider>
  );
}

/** The form of a LiveEdit: when the record is reloaded, what the user typed stays. */
export function LiveForm(props: SimpleFormProps) {
  return <SimpleForm resetOptions={{ keepDirtyValues: true }} {...props} />;
}

/** Placed first in the form of a LiveEdit. */
export function ConflictGuard({ resource, what }: { resource: string; what: string }) {
  const ctx = useContext(ConflictContext);
  const record = useRecordContext();
  const { refetch } = useEditContext();
  const { reset } = useFormContext();
  const notify = useNotify();
  const [busy, setBusy] = useState(false);
  if (!ctx) throw new Error('ConflictGuard must be inside LiveEdit');
  const { conflict, setConflict } = ctx;

  useEditedRecord(
    resource,
    record?.id === undefined ? undefined : String(record.id),
    useCallback(
      (frame) => {
        const v = Number((frame.event.payload as { version?: unknown } | null)?.version);
        if (!record || !Number.isFinite(v) || v > Number(record.version)) {
          setConflict({ kind: 'remote', version: Number.isFinite(v) ? v : undefined });
        }
      },
      [record, setConflict],
    ),
  );

  const latest = async () => {
    const r = await refetch();
    if (!r.data) throw new Error(r.error instanceof Error ? r.error.message : `the ${what} could not be read`);
    return r.data as Record<string, unknown>;
  };
  const run = (fn: () => Promise<void>) => async () => {
    setBusy(true);
    try {
      await fn();
      setConflict(null);
    } catch (e) {
      notify(e instanceof Error ? e.message : String(e), { type: 'error' });
    } finally {
      setBusy(false);
    }
  };
  const reload = run(async () => {
    reset(await latest());
  });
  const keepMine = run(async () => {
    // The form keeps dirty values when its record changes (LiveForm), so loading the latest
    // version rebases the user's edits onto it, `version` included.
    const fresh = await latest();
    notify(`Your changes are now on top of version ${String(fresh.version)}; save to apply them.`, { type: 'info' });
  });

  if (!conflict) return null;
  return (
    <Alert severity="warning" role="alert" sx={{ mb: 2, width: '100%' }}>
      <AlertTitle>{`This ${what} was changed by someone else`}</AlertTitle>
      {conflict.kind === 'refused'
        ? 'Your save was refused because it is based on an older version. '
        : `A newer version${conflict.version ? ` (${conflict.version})` : ''} was saved while you were editing. `}
      Reload to see the latest version (your edits are dropped), or keep your edits on top of it.
      <Stack direction="row" spacing={1} sx={{ mt: 1 }}>
        <Button variant="outlined" size="small" onClick={reload} disabled={busy}>
          Reload
        </Button>
        <Button variant="outlined" size="small" onClick={keepMine} disabled={busy}>
          Keep my changes
        </Button>
      </Stack>
    </Alert>
  );
}
