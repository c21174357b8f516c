// Whether the phone is online, from the platform (expo-network: the OS's connectivity on a
// device, navigator.onLine and its events on the web). Offline, screens keep what they loaded,
// a banner says so, and writes are refused — never queued behind the person's back.
import { useNetworkState } from 'expo-network';
import { createContext, useContext, type ReactNode } from 'react';

const OnlineContext = createContext(true);

export function useOnline(): boolean {
  return useContext(OnlineContext);
}

export function NetworkProvider({ children }: { children: ReactNode }) {
  const state = useNetworkState();
  // Unknown (undefined) is not offline: only a definite "no" is.
  const online = state.isConnected !== false && state.isInternetReachable !== false;
  return <OnlineContext.Provider value={online}>{children}</OnlineContext.Provider>;
}

/** What a refused write says. */
export const OFFLINE_WRITE = 'You are offline: this change was not saved. It can be saved once you are back online.';
