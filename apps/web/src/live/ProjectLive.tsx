// A project's live feed: the page's one subscription to `project:<id>` (on the app's one
// connection). Each event bumps the revision of the data it changes (configs, members, project),
// and the screens showing that data fetch it again; other people's changes also show a short
// "… set x to y" notice; the activity feed gets every event once, in seq order. Losing access
// (removed from the project, project deleted) takes the person back to their projects with a
// message.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useQuery } from 'urql';
import { MembersDocument, OutOfRangeError, configPatchOf, describeEvent, topicsOf, type ConfigPatch, type EventMessage, type Topic } from '@platform-sm/client';
import { useMe, useServices } from '../context.ts';
import { useNotify } from '../components/Notices.tsx';

export interface ProjectLive {
  projectId: string;
  /** Bumped when the data of a topic changed (or may have: a fresh subscription). */
  revision: Record<Topic, number>;
  /** Bumped when the feed must be loaded again from the log (fresh subscription, out of range). */
  feedEpoch: number;
  /** Events received live since the subscription started, in seq order, each once. */
  liveEvents: EventMessage[];
  /**
   * Configs as the latest live events left them, by key: shown at once, before the refetch that
   * the same event starts has answered (screens show whichever version is newer).
   */
  configPatches: ReadonlyMap<string, ConfigPatch>;
  nameOf(userId: string | null | undefined): string;
  /** The change came from this tab (its request id). */
  isOwn(e: EventMessage): boolean;
}

const Context = createContext<ProjectLive | null>(null);

export function useProjectLive(): ProjectLive {
  const v = useContext(Context);
  if (!v) throw new Error('useProjectLive outside <ProjectLiveProvider>');
  return v;
}

/** Runs `refetch` whenever the topic's data changed live (not on mount: the query just ran). */
export function useLiveRefetch(topic: Topic, refetch: (opts: { requestPolicy: 'network-only' }) => void): void {
  const { revision } = useProjectLive();
  const rev = revision[topic];
  const first = useRef(rev);
  useEffect(() => {
    if (rev !== first.current) refetch({ requestPolicy: 'network-only' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rev]);
}

const ZERO: Record<Topic, number> = { configs: 0, members: 0, project: 0 };

export function ProjectLiveProvider({ projectId, projectName, children }: { projectId: string; projectName: string; children: ReactNode }) {
  const { realtime, ownRequests } = useServices();
  const me = useMe();
  const navigate = useNavigate();
  const notify = useNotify();
  const [revision, setRevision] = useState(ZERO);
  const [feedEpoch, setFeedEpoch] = useState(0);
  const [liveEvents, setLiveEvents] = useState<EventMessage[]>([]);
  const [configPatches, setConfigPatches] = useState<ReadonlyMap<string, ConfigPatch>>(new Map());
  const [members, refetchMembers] = useQuery({ query: MembersDocument, variables: { projectId, first: 100 } });
  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const n of members.data?.project.members.nodes ?? []) if (n.user) m.set(n.userId, n.user.name);
    m.set(me.id, 'You');
    return m;
  }, [members.data, me.id]);
  const namesRef = useRef(names);
  namesRef.current = names;
  const nameOf = useCallback((id: string | null | undefined) => (id ? (namesRef.current.get(id) ?? 'Someone') : 'Someone'), []);
  const nameRef = useRef(projectName);
  nameRef.current = projectName;
  // The subscription lives as long as the page shows this project; the callbacks it uses may
  // change identity between renders, so it reads their latest versions here.
  const latest = useRef({ navigate, notify, refetchMembers, nameOf, meId: me.id });
  latest.current = { navigate, notify, refetchMembers, nameOf, meId: me.id };

  useEffect(() => {
    setLiveEvents([]);
    setRevision(ZERO);
    setConfigPatches(new Map());
    const bump = (topics: Topic[]) =>
      setRevision((r) => {
        const next = { ...r };
        for (const t of topics) next[t]++;
        return next;
      });
    const leave = (message: string) => latest.current.navigate('/projects', { replace: true, state: { notice: message } });
    const channel = `project:${projectId}`;
    return realtime.subscribe(channel, {
      onSubscribed: ({ resumed }) => {
        if (resumed) return;
        // Starting from now: what the screens loaded before may be a moment old.
        setLiveEvents([]);
        setConfigPatches(new Map());
        setFeedEpoch((n) => n + 1);
        bump(['configs', 'members', 'project']);
      },
      onEvent: (m) => {
        setLiveEvents((prev) => [...prev, m]);
        const topics = topicsOf(m.event);
        bump(topics);
        if (topics.includes('members')) latest.current.refetchMembers({ requestPolicy: 'network-only' });
        const meId = latest.current.meId;
        const payload = (m.event.payload ?? {}) as Record<string, unknown>;
        const patch = configPatchOf(m.event);
        if (patch) setConfigPatches((prev) => new Map(prev).set(patch.key, patch));
        if (m.event.type === 'project.deleted') {
          leave(`“${nameRef.current}” was deleted.`);
          return;
        }
        if (m.event.type === 'member.removed' && payload.user_id === meId) {
          leave(`You no longer have access to “${nameRef.current}”.`);
          return;
        }
        if (!ownRequests.has(m.event.request_id) && m.event.actor_id !== undefined) {
          const who = m.event.actor_id === meId ? 'You (elsewhere)' : (namesRef.current.get(m.event.actor_id) ?? 'Someone');
          latest.current.notify(`${who} ${describeEvent(m.event.type, m.event.payload, latest.current.nameOf)}`);
        }
      },
      onError: (e) => {
        if (e instanceof OutOfRangeError) {
          // The log no longer holds where we were: load everything again, then follow from now.
          realtime.restart(channel);
          return;
        }
        if (e.accessLost) leave(`You no longer have access to “${nameRef.current}”.`);
      },
    });
  }, [projectId, realtime, ownRequests]);

  const value = useMemo<ProjectLive>(
    () => ({ projectId, revision, feedEpoch, liveEvents, configPatches, nameOf, isOwn: (e) => ownRequests.has(e.event.request_id) }),
    [projectId, revision, feedEpoch, liveEvents, configPatches, nameOf, ownRequests],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}
