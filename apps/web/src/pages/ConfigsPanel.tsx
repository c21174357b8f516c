// A project's configs: each key with its value, edited in place as JSON (checked as you type),
// saved with the version it was read at. A change by someone else while you edit is shown next
// to your draft ("changed by …") with the choice to keep theirs or apply yours — never a silent
// overwrite. Below: the effective config as JSON and as .env, to copy or download.
import AddIcon from '@mui/icons-material/Add';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  Paper,
  Stack,
  Tab,
  Tabs,
  TextField,
  Typography,
} from '@mui/material';
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { Link as RouterLink } from 'react-router';
import { useClient, useMutation, useQuery } from 'urql';
import {
  ConfigDocument,
  ConfigsDocument,
  DeleteConfigDocument,
  EffectiveConfigDocument,
  SetConfigDocument,
  parseJson,
  toApiError,
  toDotEnv,
  withConfigPatch,
  type ConfigFieldsFragment,
} from '@platform-sm/client';
import { ErrorMessage, Loading, RefreshWarning, useKeptData } from '../components/QueryState.tsx';
import { useLiveRefetch, useProjectLive } from '../live/ProjectLive.tsx';
import { prettyJson, when } from '../format.ts';
import { useProject } from './ProjectScope.tsx';

export function ConfigsPanel() {
  const { project, canEditConfigs } = useProject();
  const [first, setFirst] = useState(100);
  const [result, refetch] = useQuery({ query: ConfigsDocument, variables: { projectId: project.id, first } });
  useLiveRefetch('configs', refetch);
  const { configPatches } = useProjectLive();
  const kept = useKeptData(result, `${project.id}:${first}`);
  const configs = kept.data?.project.configs;
  const [adding, setAdding] = useState(false);

  return (
    <Stack spacing={3}>
      <Box component="section" aria-labelledby="configs-heading">
        <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between', mb: 1 }}>
          <Typography variant="h6" component="h2" id="configs-heading">
            Configs
          </Typography>
          {canEditConfigs && (
            <Button startIcon={<AddIcon />} onClick={() => setAdding(true)}>
              Add config
            </Button>
          )}
        </Stack>
        <RefreshWarning error={kept.refreshError} retry={() => refetch({ requestPolicy: 'network-only' })} />
        {result.error && !configs ? (
          <ErrorMessage error={result.error} retry={() => refetch({ requestPolicy: 'network-only' })} />
        ) : !configs ? (
          <Loading label="Loading configs" />
        ) : configs.nodes.length === 0 ? (
          <Paper variant="outlined" sx={{ p: 3, textAlign: 'center' }}>
            <Typography>No configs yet.{canEditConfigs ? ' Add the first one.' : ''}</Typography>
          </Paper>
        ) : (
          <Stack component="ul" spacing={1} aria-label="Configs" sx={{ listStyle: 'none', p: 0, m: 0 }}>
            {configs.nodes.map((c) => (
              <ConfigRow key={c.id} config={withConfigPatch(c, configPatches.get(c.key))} />
            ))}
          </Stack>
        )}
        {configs?.pageInfo.hasNextPage && <Button onClick={() => setFirst((n) => n + 100)}>Show more</Button>}
      </Box>
      <EffectiveConfig />
      <AddConfigDialog open={adding} onClose={() => setAdding(false)} />
    </Stack>
  );
}

interface Conflict {
  /** What is there now (null or deleted: the key was deleted). */
  theirs: ConfigFieldsFragment | null;
}

function ConfigRow({ config }: { config: ConfigFieldsFragment }) {
  const { project, canEditConfigs } = useProject();
  const { nameOf } = useProjectLive();
  const client = useClient();
  const [draft, setDraft] = useState<string | null>(null);
  const [baseVersion, setBaseVersion] = useState(config.version);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [saveState, save] = useMutation(SetConfigDocument);
  const [deleteState, del] = useMutation(DeleteConfigDocument);
  const editing = draft !== null;
  const parsed = draft === null ? null : parseJson(draft);
  const editButton = useRef<HTMLButtonElement>(null);
  // Closing the editor (saved, cancelled, kept theirs) gives the focus back to the row's Edit
  // button, once it is rendered again — so keyboard users stay where they were.
  const wasEditing = useRef(false);
  useEffect(() => {
    if (wasEditing.current && !editing) editButton.current?.focus();
    wasEditing.current = editing;
  }, [editing]);

  // Someone else saved while this editor is open: show theirs beside the draft.
  useEffect(() => {
    if (editing && !conflict && config.version > baseVersion) setConflict({ theirs: config });
  }, [config, editing, baseVersion, conflict]);

  const startEdit = () => {
    setDraft(prettyJson(config.value));
    setBaseVersion(config.version);
    setConflict(null);
    setError(null);
  };
  const stopEdit = () => {
    setDraft(null);
    setConflict(null);
    setError(null);
  };

  const submit = async (text: string, expectedVersion: number) => {
    const p = parseJson(text);
    if (!p.ok) return;
    setError(null);
    const r = await save({ projectId: project.id, key: config.key, value: p.value, expectedVersion });
    if (!r.error) {
      stopEdit();
      return;
    }
    const e = toApiError(r.error);
    if (e.isStale) {
      // Read what is there now and let the person choose.
      const now = await client.query(ConfigDocument, { projectId: project.id, key: config.key }, { requestPolicy: 'network-only' }).toPromise();
      setConflict({ theirs: now.data?.project.config ?? null });
      return;
    }
    setError(e.fieldError('value') ?? e.userMessage);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') stopEdit();
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && draft !== null && !conflict) void submit(draft, baseVersion);
  };

  const remove = async () => {
    setConfirmDelete(false);
    const r = await del({ id: config.id, expectedVersion: config.version });
    if (r.error) setError(toApiError(r.error).userMessage);
  };

  return (
    <Paper component="li" variant="outlined" sx={{ p: { xs: 1.5, sm: 2 } }} aria-label={config.key}>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1} sx={{ justifyContent: 'space-between' }}>
        <Box sx={{ minWidth: 0 }}>
          <Typography component="h3" sx={{ fontFamily: 'monospace', fontWeight: 600, wordBreak: 'break-all' }}>
            {config.key}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            v{config.version} · updated by {nameOf(config.updatedBy)} {when(config.updatedAt)}
            {config.description ? ` · ${config.description}` : ''}
          </Typography>
        </Box>
        <Stack direction="row" spacing={1} sx={{ flexShrink: 0, alignItems: 'flex-start' }}>
          <Button size="small" component={RouterLink} to={`/projects/${project.id}/configs/${encodeURIComponent(config.key)}`} aria-label={`History of ${config.key}`}>
            History
          </Button>
          {canEditConfigs && !editing && (
            <>
              <Button size="small" variant="outlined" ref={editButton} onClick={startEdit} aria-label={`Edit ${config.key}`}>
                Edit
              </Button>
              <Button size="small" color="error" onClick={() => setConfirmDelete(true)} aria-label={`Delete ${config.key}`}>
                Delete
              </Button>
            </>
          )}
        </Stack>
      </Stack>
      {!editing && (
        <Box
          component="pre"
          aria-label={`Value of ${config.key}`}
          sx={{ m: 0, mt: 1, p: 1, bgcolor: 'grey.50', borderRadius: 1, overflowX: 'auto', fontSize: 14, maxHeight: 240 }}
        >
          {prettyJson(config.value)}
        </Box>
      )}
      {editing && (
        <Stack spacing={1} sx={{ mt: 1 }}>
          {conflict && (
            <ConflictPanel
              keyName={config.key}
              conflict={conflict}
              busy={saveState.fetching}
              canApply={!!parsed?.ok}
              keepTheirs={stopEdit}
              applyMine={() => {
                if (draft === null) return;
                const v = conflict.theirs?.deletedAt ? 0 : (conflict.theirs?.version ?? 0);
                setBaseVersion(conflict.theirs?.version ?? 0);
                setConflict(null);
                void submit(draft, v);
              }}
            />
          )}
          <TextField
            label={`New value of ${config.key}`}
            multiline
            minRows={2}
            maxRows={16}
            autoFocus
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onKeyDown}
            error={parsed !== null && !parsed.ok}
            helperText={parsed && !parsed.ok ? parsed.error : 'JSON · Ctrl+Enter saves · Esc cancels'}
            slotProps={{ htmlInput: { spellCheck: false, style: { fontFamily: 'monospace' } } }}
          />
          {!conflict && (
            <Stack direction="row" spacing={1}>
              <Button
                variant="contained"
                disabled={!parsed?.ok || saveState.fetching}
                onClick={() => draft !== null && void submit(draft, baseVersion)}
                aria-label={`Save ${config.key}`}
              >
                {saveState.fetching ? 'Saving…' : 'Save'}
              </Button>
              <Button onClick={stopEdit}>Cancel</Button>
            </Stack>
          )}
        </Stack>
      )}
      {error && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
      <Dialog open={confirmDelete} onClose={() => setConfirmDelete(false)}>
        <DialogTitle>Delete {config.key}?</DialogTitle>
        <DialogContent>
          <DialogContentText>The key disappears from the effective config. Its history is kept, and setting it again continues it.</DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirmDelete(false)}>Cancel</Button>
          <Button color="error" variant="contained" disabled={deleteState.fetching} onClick={remove}>
            Delete
          </Button>
        </DialogActions>
      </Dialog>
    </Paper>
  );
}

function ConflictPanel(props: {
  keyName: string;
  conflict: Conflict;
  busy: boolean;
  canApply: boolean;
  keepTheirs: () => void;
  applyMine: () => void;
}) {
  const { nameOf } = useProjectLive();
  const { theirs } = props.conflict;
  const who = theirs ? nameOf(theirs.updatedBy) : 'Someone';
  const deleted = !theirs || !!theirs.deletedAt;
  return (
    <Alert severity="warning" role="alert" sx={{ '& .MuiAlert-message': { width: '100%', minWidth: 0 } }}>
      <Typography sx={{ fontWeight: 600 }}>
        {deleted
          ? `Changed by someone else: ${who} deleted ${props.keyName} while you were editing.`
          : `Changed by someone else: ${who} saved version ${theirs.version} while you were editing.`}
      </Typography>
      {!deleted && (
        <>
          <Typography variant="subtitle2" sx={{ mt: 1 }}>
            Their value
          </Typography>
          <Box component="pre" aria-label="Their value" sx={{ m: 0, p: 1, bgcolor: 'background.paper', borderRadius: 1, overflowX: 'auto' }}>
            {prettyJson(theirs.value)}
          </Box>
        </>
      )}
      <Typography variant="body2" sx={{ my: 1 }}>
        Your value is below, unsaved. Keep theirs (drop yours), or apply yours over theirs.
      </Typography>
      <Stack direction="row" spacing={1}>
        <Button variant="outlined" color="inherit" onClick={props.keepTheirs} disabled={props.busy}>
          Keep theirs
        </Button>
        <Button variant="contained" color="warning" onClick={props.applyMine} disabled={props.busy || !props.canApply}>
          Apply mine
        </Button>
      </Stack>
    </Alert>
  );
}

function AddConfigDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { project } = useProject();
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<ReturnType<typeof toApiError> | null>(null);
  const [state, save] = useMutation(SetConfigDocument);
  const parsed = value === '' ? null : parseJson(value);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const p = parseJson(value);
    if (!p.ok) return;
    setError(null);
    // expectedVersion 0: "must not exist yet", so adding never replaces someone's key.
    const r = await save({ projectId: project.id, key: key.trim(), value: p.value, description: description.trim(), expectedVersion: 0 });
    if (r.error) {
      setError(toApiError(r.error));
      return;
    }
    setKey('');
    setValue('');
    setDescription('');
    onClose();
  };
  const keyError = error?.fieldError('key') ?? (error?.code === 'CONFLICT' ? 'This key exists already: edit it instead.' : undefined);
  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm">
      <form onSubmit={submit} noValidate>
        <DialogTitle>Add a config</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            {error && !keyError && !error.fieldError('value') && <Alert severity="error">{error.userMessage}</Alert>}
            <TextField
              label="Key"
              required
              autoFocus
              value={key}
              onChange={(e) => setKey(e.target.value)}
              error={!!keyError}
              helperText={keyError ?? 'Lower-case letters, digits and . _ - (e.g. checkout.enabled)'}
              slotProps={{ htmlInput: { spellCheck: false } }}
            />
            <TextField
              label="Value (JSON)"
              required
              multiline
              minRows={3}
              value={value}
              onChange={(e) => setValue(e.target.value)}
              error={(parsed !== null && !parsed.ok) || !!error?.fieldError('value')}
              helperText={(parsed && !parsed.ok ? parsed.error : error?.fieldError('value')) ?? 'true, 42, "text", [1, 2] or {"a": 1}'}
              slotProps={{ htmlInput: { spellCheck: false, style: { fontFamily: 'monospace' } } }}
            />
            <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
          </Stack>
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={state.fetching || !key.trim() || !parsed?.ok}>
            Add
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

function EffectiveConfig() {
  const { project } = useProject();
  const [result, refetch] = useQuery({ query: EffectiveConfigDocument, variables: { projectId: project.id } });
  useLiveRefetch('configs', refetch);
  const [format, setFormat] = useState<'json' | 'env'>('json');
  const [copied, setCopied] = useState(false);
  const values = useKeptData(result, project.id).data?.project.configValues as Record<string, unknown> | undefined;
  const text = values === undefined ? '' : format === 'json' ? prettyJson(values) : toDotEnv(values);
  const copy = async () => {
    await navigator.clipboard.writeText(text);
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  const download = () => {
    const blob = new Blob([toDotEnv(values ?? {})], { type: 'text/plain' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${project.slug}.env`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return (
    <Box component="section" aria-labelledby="effective-heading">
      <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between', flexWrap: 'wrap', gap: 1 }}>
        <Typography variant="h6" component="h2" id="effective-heading">
          Effective config
        </Typography>
        <Stack direction="row" spacing={1}>
          <Button size="small" onClick={copy} disabled={!values}>
            {copied ? 'Copied' : `Copy ${format === 'json' ? 'JSON' : '.env'}`}
          </Button>
          <Button size="small" variant="outlined" onClick={download} disabled={!values}>
            Download .env
          </Button>
        </Stack>
      </Stack>
      <Tabs value={format} onChange={(_, v: 'json' | 'env') => setFormat(v)} aria-label="Effective config format">
        <Tab value="json" label="JSON" />
        <Tab value="env" label=".env" />
      </Tabs>
      {result.error && !values ? (
        <ErrorMessage error={result.error} retry={() => refetch({ requestPolicy: 'network-only' })} />
      ) : values === undefined ? (
        <Loading label="Loading the effective config" />
      ) : (
        <Box
          component="pre"
          aria-label={format === 'json' ? 'Effective config as JSON' : 'Effective config as .env'}
          sx={{ m: 0, mt: 1, p: 1.5, bgcolor: 'grey.100', borderRadius: 1, overflowX: 'auto', fontSize: 14 }}
        >
          {text || (format === 'env' ? '# no configs' : '{}')}
        </Box>
      )}
    </Box>
  );
}
