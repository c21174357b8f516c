// The app's long-lived objects, made once per server: the session (tokens in the platform's
// secure storage), the GraphQL client (urql, the one data layer) and the one realtime-edge
// connection. Tests make the same objects with a fake fetch and a fake WebSocket.
import {
  RealtimeClient,
  Session,
  createGraphqlClient,
  sessionAuth,
  type Endpoints,
  type FetchLike,
  type LockLike,
  type OwnRequests,
  type Timers,
  type TokenStorage,
  type WebSocketCtor,
} from '@platform-sm/client';
import type { Client } from 'urql';

export interface Services {
  endpoints: Endpoints;
  session: Session;
  graphql: Client;
  ownRequests: OwnRequests;
  realtime: RealtimeClient;
}

export interface ServiceOptions {
  storage: TokenStorage;
  lock?: LockLike;
  fetch?: FetchLike;
  WebSocket?: WebSocketCtor;
  timers?: Timers;
}

// Not the web app's key: the mobile app's web export on the same origin keeps its own session.
export const SESSION_KEY = 'platform-sm.mobile.session';

export function createServices(endpoints: Endpoints, opts: ServiceOptions): Services {
  const session = new Session({
    graphqlUrl: endpoints.graphqlUrl,
    storage: opts.storage,
    key: SESSION_KEY,
    lock: opts.lock,
    fetch: opts.fetch,
    timers: opts.timers,
  });
  const { client, ownRequests } = createGraphqlClient({ url: endpoints.graphqlUrl, session, fetch: opts.fetch });
  const realtime = new RealtimeClient({
    url: endpoints.realtimeUrl,
    auth: sessionAuth(session),
    WebSocket: opts.WebSocket,
    timers: opts.timers,
  });
  return { endpoints, session, graphql: client, ownRequests, realtime };
}
