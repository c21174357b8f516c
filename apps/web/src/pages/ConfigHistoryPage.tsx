// One config's history: every revision, newest first; pick one to see how it differs from the
// current value, and (editors) roll back to it — a new revision with that value, written only if
// nobody changed the key meanwhile.
import { Alert, Box, Breadcrumbs, Button, Link, List, ListItemButton, ListItemText, Paper, Stack, Typography } from '@mui/material';
import { useState } from 'react';
import { Link as RouterLink, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { ConfigHistoryDocument, RollbackConfigDocument, toApiError } from '@platform-sm/client';
import { ErrorMessage, Loading, useKeptData } from '../components/QueryState.tsx';
import { diffLines } from '../diff.ts';
import { useLiveRefetch, useProjectLive } from '../live/ProjectLive.tsx';
import { prettyJson, when } from '../format.ts';
import { useProject } from './ProjectScope.tsx';

const OPS: Record<string, string> = { SET: 'set', DELETE: 'deleted', ROLLBACK: 'rolled back' };

export function ConfigHistoryPage() {
  const { key = '' } = useParams();
  const { project, canEditConfigs } = useProject();
  const { nameOf } = useProjectLive();
  const [result, refetch] = useQuery({ query: ConfigHistoryDocument, variables: { projectId: project.id, key, first: 100 } });
  useLiveRefetch('configs', refetch);
  const [selected, setSelected] = useState<number | null>(null);
  const [rollbackState, rollback] = useMutation(RollbackConfigDocument);
  const [message, setMessage] = useState<{ severity: 'success' | 'error'; text: string } | null>(null);
  const config = useKeptData(result, `${project.id}:${key}`).data?.project.config;

  const header = (
    <Breadcrumbs aria-label="breadcrumb">
      <Link component={RouterLink} to={`/projects/${project.id}/configs`}>
        {project.name}
      </Link>
      <Typography color="text.primary" sx={{ fontFamily: 'monospace' }}>
        {key}
      </Typography>
    </Breadcrumbs>
  );
  if (!config) {
    return (
      <Stack spacing={2}>
        {header}
        {result.error ? <ErrorMessage error={result.error} retry={() => refetch({ requestPolicy: 'network-only' })} /> : <Loading label="Loading history" />}
      </Stack>
    );
  }
  const revisions = config.history.nodes;
  const chosen = revisions.find((r) => r.version === selected) ?? null;
  const current = config.deletedAt ? '' : prettyJson(config.value);

  const doRollback = async (version: number) => {
    setMessage(null);
    const r = await rollback({ id: config.id, version, expectedVersion: config.version });
    if (r.error) {
      const e = toApiError(r.error);
      setMessage({ severity: 'error', text: e.isStale ? 'Someone changed this config meanwhile; look at the newest version and try again.' : e.userMessage });
      return;
    }
    setSelected(null);
    setMessage({ severity: 'success', text: `Rolled back to version ${version}: now version ${r.data!.rollbackConfig.version}.` });
  };

  return (
    <Stack spacing={2}>
      {header}
      <Typography variant="h5" component="h1">
        History of <Box component="span" sx={{ fontFamily: 'monospace' }}>{key}</Box>
      </Typography>
      <Typography color="text.secondary">
        {config.deletedAt ? 'Deleted' : `Current: version ${config.version}`} · {config.history.totalCount} revisions
      </Typography>
      {message && (
        <Alert severity={message.severity} role={message.severity === 'error' ? 'alert' : 'status'}>
          {message.text}
        </Alert>
      )}
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={2} sx={{ alignItems: 'flex-start' }}>
        <Paper variant="outlined" sx={{ width: { xs: '100%', md: 300 }, flexShrink: 0 }}>
          <List aria-label="Revisions" dense>
            {revisions.map((r) => (
              <ListItemButton key={r.id} selected={r.version === selected} onClick={() => setSelected(r.version)} divider>
                <ListItemText
                  primary={`Version ${r.version}${r.version === config.version && !config.deletedAt ? ' (current)' : ''}`}
                  secondary={`${OPS[r.op ?? 'SET'] ?? ''} by ${nameOf(r.authorId)} · ${when(r.createdAt)}`}
                />
              </ListItemButton>
            ))}
          </List>
        </Paper>
        <Box sx={{ flexGrow: 1, minWidth: 0, width: '100%' }}>
          {!chosen ? (
            <Typography color="text.secondary">Choose a version to compare it with the current value.</Typography>
          ) : (
            <Stack spacing={1}>
              <Typography variant="subtitle1" component="h2">
                Version {chosen.version} → current
              </Typography>
              <Box
                component="pre"
                aria-label={`Differences between version ${chosen.version} and the current value`}
                sx={{ m: 0, p: 1, bgcolor: 'grey.50', borderRadius: 1, overflowX: 'auto', fontSize: 14 }}
              >
                {diffLines(prettyJson(chosen.value), current).map((l, i) => (
                  <Box
                    key={i}
                    component="span"
                    sx={{ display: 'block', bgcolor: l.op === '-' ? '#fde2e2' : l.op === '+' ? '#dcf5dc' : undefined }}
                  >
                    {l.op} {l.text}
                  </Box>
                ))}
              </Box>
              {canEditConfigs && chosen.version !== config.version && (
                <Box>
                  <Button variant="contained" disabled={rollbackState.fetching} onClick={() => void doRollback(chosen.version)}>
                    Roll back to version {chosen.version}
                  </Button>
                </Box>
              )}
            </Stack>
          )}
        </Box>
      </Stack>
    </Stack>
  );
}
