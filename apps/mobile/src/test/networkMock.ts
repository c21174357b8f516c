// expo-network as the tests drive it: `setOnline(false)` is the phone losing its connection
// (the module's useNetworkState hook re-renders like the real one on the OS's event).
import { useSyncExternalStore } from 'react';

let state = { isConnected: true, isInternetReachable: true, type: 'WIFI' };
const listeners = new Set<() => void>();

export function setOnline(online: boolean): void {
  state = { isConnected: online, isInternetReachable: online, type: online ? 'WIFI' : 'NONE' };
  for (const l of listeners) l();
}

export function useNetworkState() {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}
