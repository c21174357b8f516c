import { createContext, useContext } from 'react';
import type { SessionUser } from '@platform-sm/client';
import type { Services } from './services.ts';

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('useServices outside <App>');
  return s;
}

export interface SessionState {
  user: SessionUser | null;
  /** Why the last session ended, when the server ended it (shown on the sign-in page). */
  endMessage: string | null;
  clearEndMessage(): void;
}

export const SessionContext = createContext<SessionState>({ user: null, endMessage: null, clearEndMessage: () => {} });

export function useSession(): SessionState {
  return useContext(SessionContext);
}

/** The signed-in user (inside the signed-in part of the app). */
export function useMe(): SessionUser {
  const { user } = useSession();
  if (!user) throw new Error('useMe while signed out');
  return user;
}
