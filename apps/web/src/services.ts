// The app's three long-lived objects, made once at start from the runtime config: the session
// (tokens in localStorage, refreshes serialised across tabs with the Web Locks API), the GraphQL
// client (the one data layer), and the one realtime connection.
import { RealtimeClient, Session, createGraphqlClient, sessionAuth, type OwnRequests } from '@platform-sm/client';
import type { Client } from 'urql';
import type { AppConfig } from './config.ts';

export interface Services {
  config: AppConfig;
  session: Session;
  graphql: Client;
  ownRequests: OwnRequests;
  realtime: RealtimeClient;
}

// Not the admin panel's key: on one origin each app keeps (and rotates) its own session.
export const SESSION_KEY = 'platform-sm.web.session';

export function createServices(config: AppConfig): Services {
  const session = new Session({
    graphqlUrl: config.graphqlUrl,
    storage: window.localStorage,
    key: SESSION_KEY,
    lock: navigator.locks
      ? { request: <T,>(name: string, cb: () => Promise<T>) => navigator.locks.request(name, cb) as Promise<T> }
      : undefined,
  });
  // Another tab signed in, out, or rotated the tokens.
  window.addEventListener('storage', (e) => {
    if (e.key === null || e.key === SESSION_KEY) void session.load();
  });
  const { client, ownRequests } = createGraphqlClient({ url: config.graphqlUrl, session });
  const realtime = new RealtimeClient({ url: config.realtimeUrl, auth: sessionAuth(session) });
  return { config, session, graphql: client, ownRequests, realtime };
}
