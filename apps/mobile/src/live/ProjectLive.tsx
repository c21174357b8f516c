// A project's live feed, as in the web app: the screen's one subscription to `project:<id>` on the
// app's one connection. Each event bumps the revision of the data it changes (configs, members,
// project) and the views showing it fetch again; a config event's record is shown at once
// (whichever of it and the fetched one is newer); other people's changes show a short notice;
// losing access takes the person back to their projects with a message.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { MembersDocument, OutOfRangeError, configPatchOf, describeEvent, topicsOf, type ConfigPatch, type Topic } from '@platform-sm/client';
import { useMe, useServices } from '../context';
import { useNotify } from '../components/Notices';
import { useNavigation } from '../navigation';

export interface ProjectLive {
  projectId: string;
  /** Bumped when the data of a topic changed (or may have: a fresh subscription). */
  revision: Record<Topic, number>;
  /** Configs as the latest live events left them, by key. */
  configPatches: ReadonlyMap<string, ConfigPatch>;
  nameOf(userId: string | null | undefined): string;
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
  const latest = useRef(refetch);
  latest.current = refetch;
  useEffect(() => {
    if (rev !== first.current) latest.current({ requestPolicy: 'network-only' });
  }, [rev]);
}

const ZERO: Record<Topic, number> = { configs: 0, members: 0, project: 0 };

export function ProjectLiveProvider({ projectId, projectName, children }: { projectId: string; projectName: string; children: ReactNode }) {
  const { realtime, ownRequests } = useServices();
  const me = useMe();
  const nav = useNavigation();
  const notify = useNotify();
  const [revision, setRevision] = useState(ZERO);
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
  // The subscription lives as long as the screen shows this project; it reads the latest
  // callbacks through this ref.
  const latest = useRef({ nav, notify, refetchMembers, projectName, meId: me.id });
  latest.current = { nav, notify, refetchMembers, projectName, meId: me.id };

  useEffect(() => {
    setRevision(ZERO);
    setConfigPatches(new Map());
    const bump = (topics: Topic[]) =>
      setRevision((r) => {
        const next = { ...r };
        for (const t of topics) next[t]++;
        return next;
      });
    const leave = (message: string) => latest.current.nav.reset({ name: 'projects', notice: message });
    const channel = `project:${projectId}`;
    return realtime.subscribe(channel, {
      onSubscribed: ({ resumed }) => {
        if (resumed) return;
        // Starting from now: what the screen loaded before may be a moment old.
        setConfigPatches(new Map());
        bump(['configs', 'members', 'project']);
      },
      onEvent: (m) => {
        const topics = topicsOf(m.event);
        bump(topics);
        if (topics.includes('members')) latest.current.refetchMembers({ requestPolicy: 'network-only' });
        const patch = configPatchOf(m.event);
        if (patch) setConfigPatches((prev) => new Map(prev).set(patch.key, patch));
        const payload = (m.event.payload ?? {}) as Record<string, unknown>;
        const { meId, projectName: name } = latest.current;
        if (m.event.type === 'project.deleted') {
          leave(`“${name}” was deleted.`);
          return;
        }
        if (m.event.type === 'member.removed' && payload.user_id === meId) {
          leave(`You no longer have access to “${name}”.`);
          return;
        }
        if (!ownRequests.has(m.event.request_id) && m.event.actor_id !== undefined) {
          const who = m.event.actor_id === meId ? 'You (elsewhere)' : (namesRef.current.get(m.event.actor_id) ?? 'Someone');
          latest.current.notify(`${who} ${describeEvent(m.event.type, m.event.payload, nameOf)}`);
        }
      },
      onError: (e) => {
        if (e instanceof OutOfRangeError) {
          // The log no longer holds where we were: load everything again, then follow from now.
          realtime.restart(channel);
          return;
        }
        if (e.accessLost) leave(`You no longer have access to “${latest.current.projectName}”.`);
      },
    });
  }, [projectId, realtime, ownRequests, nameOf]);

  const value = useMemo<ProjectLive>(() => ({ projectId, revision, configPatches, nameOf }), [projectId, revision, configPatches, nameOf]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}
