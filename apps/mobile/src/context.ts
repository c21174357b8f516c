import { createContext, useContext } from 'react';
import type { SessionUser } from '@platform-sm/client';
import type { Services } from './services';

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('useServices outside <App>');
  return s;
}

export const UserContext = createContext<SessionUser | null>(null);

/** The signed-in person (inside the signed-in part of the app). */
export function useMe(): SessionUser {
  const user = useContext(UserContext);
  if (!user) throw new Error('useMe while signed out');
  return user;
}
