/**
 * Where GraphiQL sends its operations: the /graphql of the edge that served the page (the page is
 * that edge's answer to a browser's GET /graphql, its files under /graphiql/), so no address is
 * baked into the build. Subscriptions use the same URL with the ws/wss scheme.
 */
export function endpoints(location: Pick<Location, 'origin'>): { url: string; subscriptionUrl: string } {
  const url = new URL('/graphql', location.origin).href;
  return { url, subscriptionUrl: url.replace(/^http/, 'ws') };
}
