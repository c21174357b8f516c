// The one place live updates enter the panel: one RealtimeClient for the app, the channels that
// the screens on display ask for, and one handler that turns each event into refetches of the
// affected React Admin queries (lists, shown records), or into a "changed by someone else"
// notice for a record being edited.
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useLogout } from 'react-admin';
import type { OwnRequests } from '../dataProvider';
import type { SessionStore } from '../session';
import { isStale, recordOf } from './invalidation';
import { RealtimeClient, type ConnectionState, type EventFrame, type SocketLike } from './realtime';

type EditListener = (frame: EventFrame) => void;

interface Live {
  session: SessionStore;
  client: RealtimeClient;
  state: ConnectionState;
  own: OwnRequests;
  /** Records open in an edit form: "resource:id" → who to tell. */
  editing: Map<string, Set<EditListener>>;
  handler: (frame: EventFrame) => void;
}

const LiveContext = createContext<Live | null>(null);

/**
 * Refetches the matching queries. A query whose fetch is already in flight may have read the
 * database before the change committed, and react-query folds an invalidation into a first fetch
 * still running — the update would be lost. So in-flight fetches are cancelled first, and every
 * matching query on screen fetches again.
 */
function refetch(queryClient: QueryClient, matches: (key: readonly unknown[]) => boolean): void {
  const predicate = (q: { queryKey: readonly unknown[] }) => matches(q.queryKey);
  // Only React Admin's data reads are cancelled: others (the role lookups behind canAccess) are
  // awaited by code that would take a cancellation for "no access".
  const dataRead = (q: { queryKey: readonly unknown[] }) => matches(q.queryKey) && DATA_READS.has(String(q.queryKey[1]));
  void queryClient
    .cancelQueries({ predicate: dataRead, fetchStatus: 'fetching' })
    .then(() => queryClient.invalidateQueries({ predicate, refetchType: 'active' }));
}

const DATA_READS = new Set(['getList', 'getOne', 'getMany', 'getManyReference', 'getInfiniteList']);

export function LiveProvider({
  session,
  realtimeUrl,
  own,
  children,
}: {
  session: SessionStore;
  realtimeUrl: string;
  own: OwnRequests;
  children: ReactNode;
}) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<ConnectionState>('closed');
  const editing = useRef(new Map<string, Set<EditListener>>()).current;
  const client = useMemo(
    () =>
      new RealtimeClient({
        url: realtimeUrl,
        token: () => session.accessToken(),
        socket: (url) => new WebSocket(url) as unknown as SocketLike,
        onState: setState,
        // Close the gap between a screen's first fetch and its subscription: refetch what is on
        // screen (active queries) once the subscription is live. Records being edited are left
        // alone, as for events.
        onLive: () => {
          const edited = new Set(editing.keys());
          refetch(
            queryClient,
            (key) => !(key[1] === 'getOne' && edited.has(`${String(key[0])}:${String((key[2] as { id?: unknown })?.id)}`)),
          );
        },
      }),
    [realtimeUrl, session, queryClient, editing],
  );
  const handler = useMemo(
    () => (frame: EventFrame) => {
      const e = frame.event;
      const rec = recordOf(e);
      const key = rec ? `${rec.resource}:${rec.id}` : null;
      if (key && editing.has(key) && !own.has(e.request_id)) {
        for (const l of editing.get(key)!) l(frame);
      }
      const edited = new Set(editing.keys());
      refetch(queryClient, (key) => isStale(key, e, edited));
    },
    [queryClient, editing, own],
  );

  useEffect(() => {
    let lastToken = session.get()?.accessToken ?? null;
    if (lastToken) client.start();
    const unsubscribe = session.subscribe((s) => {
      if (!s) {
        lastToken = null;
        client.stop();
        return;
      }
      if (lastToken === null) client.start();
      else if (s.accessToken !== lastToken) void client.reauthenticate();
      lastToken = s.accessToken;
    });
    return () => {
      unsubscribe();
      client.stop();
    };
  }, [client, session]);

  const value = useMemo(
    () => ({ session, client, state, own, editing, handler }),
    [session, client, state, own, editing, handler],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive* must be used inside <LiveProvider>');
  return live;
}

/** Keeps `channels` subscribed while the calling component is on screen. */
export function useLiveChannels(channels: (string | null | undefined)[]): void {
  const { client, handler } = useLive();
  const key = [...new Set(channels.filter((c): c is string => !!c))].sort().join('|');
  useEffect(() => {
    if (!key) return;
    const offs = key.split('|').map((c) => client.subscribe(c, handler));
    return () => offs.forEach((off) => off());
  }, [client, handler, key]);
}

/** While a record is edited: `onChange` hears of changes made by anyone but this tab. */
export function useEditedRecord(resource: string, id: string | undefined, onChange: EditListener): void {
  const { editing } = useLive();
  const ref = useRef(onChange);
  ref.current = onChange;
  useEffect(() => {
    if (!id) return;
    const key = `${resource}:${id}`;
    const l: EditListener = (f) => ref.current(f);
    let set = editing.get(key);
    if (!set) editing.set(key, (set = new Set()));
    set.add(l);
    return () => {
      set!.delete(l);
      if (set!.size === 0) editing.delete(key);
    };
  }, [editing, resource, id]);
}

/** Signs out (to the login page) when the session ends behind the user's back: a reused refresh
 * token, a revoked session, a disabled user, or a sign-out in another tab. */
export function SignOutWhenSessionEnds() {
  const { session } = useLive();
  const logout = useLogout();
  useEffect(() => session.subscribe((s) => void (s === null && logout())), [session, logout]);
  return null;
}

export function useLiveState(): ConnectionState {
  return useLive().state;
}
