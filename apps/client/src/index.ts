// @platform-sm/client — what the web and mobile apps share: typed GraphQL operations generated
// from graphql-edge/schema.graphql, the session, and the realtime-edge client. No DOM or Node
// API: the host's fetch, WebSocket and storage are found or injected (platform.ts).
import type { RealtimeAuth } from './realtime.ts';
import type { Session } from './session.ts';

export * from './generated/graphql.ts';
export * from './errors.ts';
export * from './platform.ts';
export * from './session.ts';
export * from './graphql.ts';
export * from './realtime.ts';
export * from './env.ts';
export * from './endpoints.ts';
export * from './values.ts';
export * from './events.ts';
export * from './messages.ts';

/** The realtime client's credentials from a Session: its token, and each rotation. */
export function sessionAuth(session: Session): RealtimeAuth {
  return {
    token: async (opts) => (opts?.fresh ? (await session.refresh()).accessToken : session.accessToken()),
    onTokenChange: (listener) => session.subscribe((tokens) => tokens && listener()),
  };
}
export * from './kept.ts';
