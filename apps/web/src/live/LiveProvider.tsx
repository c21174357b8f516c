// The one realtime connection of the app (services.realtime), started while someone is signed in.
// Screens never open their own: a project's pages subscribe through ProjectLiveProvider.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { ConnectionStatus } from '@platform-sm/client';
import { useServices } from '../context.ts';

const StatusContext = createContext<ConnectionStatus>('idle');

export function useConnectionStatus(): ConnectionStatus {
  return useContext(StatusContext);
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const { realtime } = useServices();
  const [status, setStatus] = useState<ConnectionStatus>(realtime.connectionStatus);
  useEffect(() => {
    const off = realtime.onStatus(setStatus);
    realtime.start();
    return () => {
      off();
      realtime.stop();
    };
  }, [realtime]);
  return <StatusContext.Provider value={status}>{children}</StatusContext.Provider>;
}
