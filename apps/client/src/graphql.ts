// The app's GraphQL client (urql core): the session's bearer token on every operation, one
// refresh-and-retry when the server says the token is no good, and an `x-request-id` on every
// operation that the app can recognise in the events its own writes cause.
import { Client, cacheExchange, fetchExchange, mapExchange, type Exchange } from '@urql/core';
import { authExchange } from '@urql/exchange-auth';
import { refreshDueAt, type Session } from './session.ts';
import type { FetchLike } from './platform.ts';

export interface GraphqlClientOptions {
  /** graphql-edge's `/graphql` URL. */
  url: string;
  session: Session;
  fetch?: FetchLike;
  /** Exchanges before the network ones (e.g. a normalised cache); default urql's document cache. */
  cache?: Exchange;
  now?: () => number;
}

/** Ids of this client's recent requests, to tell its own writes' events from others'. */
export class OwnRequests {
  private readonly ids: string[] = [];
  private readonly set = new Set<string>();
  constructor(private readonly capacity = 200) {}

  next(): string {
    const id = `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    this.ids.push(id);
    this.set.add(id);
    while (this.ids.length > this.capacity) this.set.delete(this.ids.shift()!);
    return id;
  }

  has(id: string | null | undefined): boolean {
    return !!id && this.set.has(id);
  }
}

export function createGraphqlClient(opts: GraphqlClientOptions): { client: Client; ownRequests: OwnRequests } {
  const now = opts.now ?? Date.now;
  const ownRequests = new OwnRequests();
  const session = opts.session;
  const auth = authExchange(async (utils) => ({
    addAuthToOperation(operation) {
      const t = session.tokens;
      return t ? utils.appendHeaders(operation, { authorization: `Bearer ${t.accessToken}` }) : operation;
    },
    willAuthError() {
      const t = session.tokens;
      return !!t && now() >= refreshDueAt(t);
    },
    didAuthError(error) {
      return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
    },
    async refreshAuth() {
      try {
        await session.refresh();
      } catch {
        // The session is over (its listeners were told) or the server is unreachable: the
        // operation goes out as it is and its error reaches the screen.
      }
    },
  }));
  const requestId = mapExchange({
    onOperation(operation) {
      const fetchOptions =
        typeof operation.context.fetchOptions === 'function'
          ? operation.context.fetchOptions()
          : (operation.context.fetchOptions ?? {});
      const headers = { ...(fetchOptions.headers as Record<string, string> | undefined), 'x-request-id': ownRequests.next() };
      return { ...operation, context: { ...operation.context, fetchOptions: { ...fetchOptions, headers } } };
    },
  });
  const client = new Client({
    url: opts.url,
    exchanges: [opts.cache ?? cacheExchange, requestId, auth, fetchExchange],
    // graphql-edge answers a GET with GraphiQL.
    preferGetMethod: false,
    ...(opts.fetch ? { fetch: opts.fetch as never } : {}),
  });
  return { client, ownRequests };
}
