// The one realtime connection of the app (services.realtime), started while someone is signed in.
// Screens never open their own: a project's pages subscribe through ProjectLiveProvider, and the
// person's own channel (`user:<id>`: memberships added, changed, removed) is followed here, for
// the list of their projects.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { ConnectionStatus } from '@platform-sm/client';
import { useMe, useServices } from '../context.ts';

const StatusContext = createContext<ConnectionStatus>('idle');
const MembershipsContext = createContext(0);

export function useConnectionStatus(): ConnectionStatus {
  return useContext(StatusContext);
}

/** Bumped when the person's memberships may have changed (a fresh subscription, or an event). */
export function useMembershipsRevision(): number {
  return useContext(MembershipsContext);
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const { realtime } = useServices();
  const me = useMe();
  const [status, setStatus] = useState<ConnectionStatus>(realtime.connectionStatus);
  const [memberships, setMemberships] = useState(0);
  useEffect(() => {
    const off = realtime.onStatus(setStatus);
    const bump = () => setMemberships((n) => n + 1);
    const unsubscribe = realtime.subscribe(`user:${me.id}`, {
      onEvent: (m) => m.event.type.startsWith('member.') && bump(),
      onSubscribed: ({ resumed }) => !resumed && bump(),
    });
    realtime.start();
    return () => {
      off();
      unsubscribe();
      realtime.stop();
    };
  }, [realtime, me.id]);
  return (
    <StatusContext.Provider value={status}>
      <MembershipsContext.Provider value={memberships}>{children}</MembershipsContext.Provider>
    </StatusContext.Provider>
  );
}
