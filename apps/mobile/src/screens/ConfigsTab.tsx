// A project's configs: each key with its value, readable on a phone. Editors edit a value as
// JSON (checked as they type) and save it with the version they opened. When someone else saves
// meanwhile the editor shows "Changed by someone else" with their value, the draft kept below,
// and a choice — keep theirs, or apply mine over theirs — never a silent overwrite. Offline, a
// save is refused with a message; nothing is queued.
import { useEffect, useState } from 'react';
import { Text, View } from 'react-native';
import { useClient, useMutation, type UseQueryState } from 'urql';
import {
  ConfigDocument,
  SetConfigDocument,
  parseJson,
  prettyJson,
  toApiError,
  withConfigPatch,
  type ConfigFieldsFragment,
  type ConfigsQuery,
  type ConfigsQueryVariables,
} from '@platform-sm/client';
import { ErrorMessage, Loading, RefreshWarning, useKeptData } from '../components/QueryState';
import { Banner, Button, Code, Field, Heading, colors, styles } from '../components/ui';
import { when } from '../format';
import { useProjectLive } from '../live/ProjectLive';
import { OFFLINE_WRITE, useOnline } from '../network';
import { useProject } from './projectScope';

type Refetch = (opts: { requestPolicy: 'network-only' }) => void;

export function ConfigsTab(props: {
  result: UseQueryState<ConfigsQuery, ConfigsQueryVariables>;
  refetch: Refetch;
  openHistory: (key: string) => void;
  canEdit: boolean;
}) {
  const { project } = useProject();
  const { configPatches } = useProjectLive();
  const kept = useKeptData(props.result, project.id);
  const configs = kept.data?.project.configs;
  const retry = () => props.refetch({ requestPolicy: 'network-only' });
  return (
    <View style={{ gap: 10 }}>
      <RefreshWarning error={kept.refreshError} retry={retry} />
      {!props.canEdit && configs && (
        <Text style={styles.muted}>{project.status === 'ARCHIVED' ? 'This project is archived: its configs are read-only.' : 'You can read these configs; editors and owners change them.'}</Text>
      )}
      {props.result.error && !configs ? (
        <ErrorMessage error={props.result.error} retry={retry} what="the configs" />
      ) : !configs ? (
        <Loading label="Loading configs" />
      ) : configs.nodes.length === 0 ? (
        <View style={styles.card}>
          <Text style={styles.muted}>No configs yet.</Text>
        </View>
      ) : (
        <View role="list" aria-label="Configs" style={{ gap: 10 }}>
          {configs.nodes.map((c) => (
            <ConfigRow key={c.id} config={withConfigPatch(c, configPatches.get(c.key))} canEdit={props.canEdit} openHistory={props.openHistory} />
          ))}
        </View>
      )}
    </View>
  );
}

interface Conflict {
  /** What is there now (null or deleted: the key was deleted). */
  theirs: ConfigFieldsFragment | null;
}

export function ConfigRow({ config, canEdit, openHistory }: { config: ConfigFieldsFragment; canEdit: boolean; openHistory: (key: string) => void }) {
  const { project } = useProject();
  const { nameOf } = useProjectLive();
  const online = useOnline();
  const client = useClient();
  const [draft, setDraft] = useState<string | null>(null);
  const [baseVersion, setBaseVersion] = useState(config.version);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saveState, save] = useMutation(SetConfigDocument);
  const editing = draft !== null;
  const parsed = draft === null ? null : parseJson(draft);

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
    if (!online) {
      setError(OFFLINE_WRITE);
      return;
    }
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
      if (now.error) {
        setError(`Someone else changed ${config.key}, and what they saved could not be read: ${toApiError(now.error).userMessage}`);
        return;
      }
      setConflict({ theirs: now.data?.project.config ?? null });
      return;
    }
    setError(e.code === 'NETWORK' ? `Not saved: ${e.userMessage}` : (e.fieldError('value') ?? e.userMessage));
  };

  return (
    <View role="listitem" aria-label={config.key} style={styles.card}>
      <Heading level={3}>{config.key}</Heading>
      <Text style={styles.muted}>
        v{config.version} · updated by {nameOf(config.updatedBy)} {when(config.updatedAt)}
        {config.description ? ` · ${config.description}` : ''}
      </Text>
      {!editing && <Code label={`Value of ${config.key}`}>{prettyJson(config.value)}</Code>}
      {editing && (
        <View style={{ gap: 8 }}>
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
          {!online && <Banner kind="warning">Offline: you can keep editing, but nothing is saved until you are back online.</Banner>}
          <Field
            label={`New value of ${config.key}`}
            value={draft}
            onChangeText={setDraft}
            multiline
            monospace
            autoFocus
            autoCapitalize="none"
            autoCorrect={false}
            spellCheck={false}
            error={parsed && !parsed.ok ? parsed.error : null}
            help={'JSON: true, 42, "text", [1, 2] or {"a": 1}'}
          />
          {!conflict && (
            <View style={styles.row}>
              <Button
                variant="primary"
                title={saveState.fetching ? 'Saving…' : 'Save'}
                label={`Save ${config.key}`}
                disabled={!parsed?.ok || saveState.fetching || !online}
                onPress={() => draft !== null && void submit(draft, baseVersion)}
              />
              <Button title="Cancel" label={`Cancel editing ${config.key}`} onPress={stopEdit} />
            </View>
          )}
        </View>
      )}
      {error && <Banner kind="error">{error}</Banner>}
      <View style={styles.row}>
        <Button small variant="text" title="History" label={`History of ${config.key}`} onPress={() => openHistory(config.key)} />
        {canEdit && !editing && <Button small title="Edit" label={`Edit ${config.key}`} onPress={startEdit} />}
      </View>
    </View>
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
  const online = useOnline();
  const { theirs } = props.conflict;
  const who = theirs ? nameOf(theirs.updatedBy) : 'Someone';
  const deleted = !theirs || !!theirs.deletedAt;
  return (
    <View role="alert" aria-label={`Conflict on ${props.keyName}`} style={{ gap: 6, padding: 10, borderRadius: 8, borderWidth: 1, borderColor: colors.warning, backgroundColor: colors.warningBg }}>
      <Text style={{ fontWeight: '700', color: colors.warning }}>
        {deleted
          ? `Changed by someone else: ${who} deleted ${props.keyName} while you were editing.`
          : `Changed by someone else: ${who} saved version ${theirs.version} while you were editing.`}
      </Text>
      {!deleted && (
        <>
          <Text style={styles.muted}>Their value</Text>
          <Code label="Their value">{prettyJson(theirs.value)}</Code>
        </>
      )}
      <Text style={{ color: colors.text }}>Your value is below, unsaved. Keep theirs (drop yours), or apply yours over theirs.</Text>
      <View style={styles.row}>
        <Button title="Keep theirs" onPress={props.keepTheirs} disabled={props.busy} />
        <Button variant="warning" title="Apply mine" onPress={props.applyMine} disabled={props.busy || !props.canApply || !online} />
      </View>
    </View>
  );
}
