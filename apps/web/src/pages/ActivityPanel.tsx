// The project's activity: its recent events from the log, then every new one as it happens
// (from the page's live subscription), newest first, each once.
import { Alert, List, ListItem, ListItemText, Paper, Stack, Typography } from '@mui/material';
import { useEffect, useMemo, useState } from 'react';
import { useClient } from 'urql';
import { EventsDocument, describeEvent, toApiError, type EventFieldsFragment, type EventsQuery } from '@platform-sm/client';
import { ErrorMessage, Loading } from '../components/QueryState.tsx';
import { useProjectLive } from '../live/ProjectLive.tsx';
import { when } from '../format.ts';
import { useProject } from './ProjectScope.tsx';

const SHOWN = 50;

interface FeedItem {
  seq: number;
  type: string;
  actorId: string | null | undefined;
  payload: unknown;
  occurredAt: string | null | undefined;
}

/**
 * The last `keep` events of a channel. The API lists a channel's events oldest first, after a
 * seq, so this pages forward to the end (see the report: a newest-first listing would make this
 * one call).
 */
async function loadTail(client: ReturnType<typeof useClient>, channel: string, keep: number): Promise<EventFieldsFragment[]> {
  let tail: EventFieldsFragment[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { data?: EventsQuery; error?: unknown } = await client.query(EventsDocument, { channel, after, first: 100 }, { requestPolicy: 'network-only' }).toPromise();
    if (r.error) throw toApiError(r.error);
    const page: EventsQuery['events'] = r.data!.events;
    tail = [...tail, ...page.nodes].slice(-keep);
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return tail;
    after = page.pageInfo.endCursor;
  }
}

export function ActivityPanel() {
  const { project } = useProject();
  const { liveEvents, feedEpoch, nameOf } = useProjectLive();
  const client = useClient();
  const [loaded, setLoaded] = useState<EventFieldsFragment[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setError(null);
    loadTail(client, `project:${project.id}`, SHOWN).then(
      (events) => !cancelled && setLoaded(events),
      (e: unknown) => !cancelled && setError(e),
    );
    return () => {
      cancelled = true;
    };
  }, [client, project.id, feedEpoch, attempt]);

  const items = useMemo(() => {
    const bySeq = new Map<number, FeedItem>();
    for (const e of loaded ?? []) bySeq.set(e.seq, { seq: e.seq, type: e.type, actorId: e.actorId, payload: e.payload, occurredAt: e.occurredAt });
    for (const m of liveEvents) {
      bySeq.set(m.seq, { seq: m.seq, type: m.event.type, actorId: m.event.actor_id, payload: m.event.payload, occurredAt: m.event.occurred_at });
    }
    return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, SHOWN);
  }, [loaded, liveEvents]);

  if (error && !loaded) return <ErrorMessage error={error} retry={() => setAttempt((n) => n + 1)} />;
  if (!loaded) return <Loading label="Loading activity" />;
  return (
    <Stack spacing={1}>
      <Typography variant="h6" component="h2">
        Activity
      </Typography>
      {error !== null && <Alert severity="warning">Could not refresh the older activity: {toApiError(error).userMessage}</Alert>}
      {items.length === 0 ? (
        <Typography color="text.secondary">Nothing has happened yet.</Typography>
      ) : (
        <Paper variant="outlined">
          <List aria-label="Activity" dense>
            {items.map((it) => (
              <ListItem key={it.seq} divider>
                <ListItemText primary={`${nameOf(it.actorId)} ${describeEvent(it.type, it.payload, nameOf)}`} secondary={when(it.occurredAt)} />
              </ListItem>
            ))}
          </List>
        </Paper>
      )}
    </Stack>
  );
}
