// One config's recent history: its last revisions, newest first, with who did what and the value
// each one set. Updated live when the config changes.
import { Text, View } from 'react-native';
import { useQuery } from 'urql';
import { ConfigHistoryDocument, prettyJson } from '@platform-sm/client';
import { ErrorMessage, Loading, RefreshWarning, useKeptData } from '../components/QueryState';
import { LiveStatus } from '../components/LiveStatus';
import { Screen } from '../components/Screen';
import { Code, styles } from '../components/ui';
import { when } from '../format';
import { useLiveRefetch, useProjectLive } from '../live/ProjectLive';
import { useProject } from './projectScope';

const OPS: Record<string, string> = { SET: 'set', DELETE: 'deleted', ROLLBACK: 'rolled back' };

/** How many revisions the screen shows. */
export const RECENT = 20;

export function HistoryScreen({ configKey, onBack }: { configKey: string; onBack: () => void }) {
  const { project } = useProject();
  const { nameOf } = useProjectLive();
  const [result, refetch] = useQuery({ query: ConfigHistoryDocument, variables: { projectId: project.id, key: configKey, first: RECENT } });
  useLiveRefetch('configs', refetch);
  const kept = useKeptData(result, `${project.id}:${configKey}`);
  const config = kept.data?.project.config;
  const retry = () => refetch({ requestPolicy: 'network-only' });
  return (
    <Screen title={`History of ${configKey}`} subtitle={project.name} onBack={onBack} backLabel={`Back to ${project.name}`} status={<LiveStatus />}>
      <RefreshWarning error={kept.refreshError} retry={retry} />
      {!config ? (
        result.error ? <ErrorMessage error={result.error} retry={retry} what="this history" /> : <Loading label="Loading history" />
      ) : (
        <>
          <Text style={styles.muted}>
            {config.deletedAt ? 'Deleted' : `Current: version ${config.version}`} · {config.history.totalCount} revision{config.history.totalCount === 1 ? '' : 's'}
            {config.history.totalCount > RECENT ? ` (the last ${RECENT} shown)` : ''}
          </Text>
          <View role="list" aria-label="Revisions" style={{ gap: 8 }}>
            {config.history.nodes.map((r) => (
              <View key={r.id} role="listitem" aria-label={`Version ${r.version}`} style={styles.card}>
                <Text style={{ fontWeight: '700' }}>
                  Version {r.version}
                  {r.version === config.version && !config.deletedAt ? ' (current)' : ''}
                </Text>
                <Text style={styles.muted}>
                  {OPS[r.op ?? 'SET'] ?? r.op} by {nameOf(r.authorId)} · {when(r.createdAt)}
                </Text>
                {r.op !== 'DELETE' && <Code label={`Value of version ${r.version}`}>{prettyJson(r.value)}</Code>}
              </View>
            ))}
          </View>
        </>
      )}
    </Screen>
  );
}
