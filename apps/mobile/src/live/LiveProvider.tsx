// The app's one realtime-edge connection (services.realtime), open while someone is signed in and
// the app is in the foreground. Going to the background closes it (a phone should not keep a
// socket awake for a screen nobody sees); coming back starts it again, and the realtime client
// resubscribes every channel with `after` = the last seq it delivered there, so the edge
// replays exactly what happened meanwhile — nothing missed, nothing twice.
//
// It also follows the person's own channel (`user:<id>`: memberships added, changed, removed),
// so the list of their projects follows what owners do elsewhere.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { AppState, type AppStateStatus } from 'react-native';
import type { ConnectionStatus } from '@platform-sm/client';
import { useMe, useServices } from '../context';

const StatusContext = createContext<ConnectionStatus>('idle');
const MembershipsContext = createContext(0);

export function useConnectionStatus(): ConnectionStatus {
  return useContext(StatusContext);
}

/** Bumped when the person's memberships may have changed (a fresh subscription, or an event). */
export function useMembershipsRevision(): number {
  return useContext(MembershipsContext);
}

/** The app is in the foreground: 'active', or 'inactive' (iOS, on the way in or out: a call, the switcher). */
function useForeground(): boolean {
  const [state, setState] = useState<AppStateStatus>(AppState.currentState ?? 'active');
  useEffect(() => {
    const sub = AppState.addEventListener('change', setState);
    return () => sub.remove();
  }, []);
  return state !== 'background';
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const { realtime } = useServices();
  const me = useMe();
  const foreground = useForeground();
  const [status, setStatus] = useState<ConnectionStatus>(realtime.connectionStatus);
  const [memberships, setMemberships] = useState(0);

  useEffect(() => realtime.onStatus(setStatus), [realtime]);

  useEffect(() => {
    const bump = () => setMemberships((n) => n + 1);
    return realtime.subscribe(`user:${me.id}`, {
      onEvent: (m) => m.event.type.startsWith('member.') && bump(),
      onSubscribed: ({ resumed }) => !resumed && bump(),
    });
  }, [realtime, me.id]);

  useEffect(() => {
    if (!foreground) return;
    // Channels keep their cursors across stop/start: this start resumes each one with `after`.
    realtime.start();
    return () => realtime.stop();
  }, [realtime, foreground]);

  return (
    <StatusContext.Provider value={status}>
      <MembershipsContext.Provider value={memberships}>{children}</MembershipsContext.Provider>
    </StatusContext.Provider>
  );
}
