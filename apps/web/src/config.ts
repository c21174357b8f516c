// The app's runtime configuration: where the APIs are. Read at start from `config.json` next to
// index.html, so one build runs behind any host; nothing here is baked into the bundle.
//
//   { "graphqlUrl": "https://api.example.com/graphql", "realtimeUrl": "wss://rt.example.com/ws" }
//
// Both keys are optional and may be relative to the page: without config.json (404) GraphQL is
// same-origin `/graphql` and the realtime edge same-origin `/ws` (a reverse proxy in front of all).
// The checks are the shared client's (`resolveEndpoints`), which the mobile app's web export uses too.
import { EndpointsError, resolveEndpoints, type Endpoints } from '@platform-sm/client';

export type AppConfig = Endpoints;

/** Fetches `config.json` beside index.html (never cached: a deploy may change it). */
export async function loadConfig(): Promise<AppConfig> {
  const url = new URL('config.json', window.location.href).toString();
  const base = window.location.href;
  let r: Response;
  try {
    r = await fetch(url, { cache: 'no-store' });
  } catch {
    throw new EndpointsError(`cannot load ${url}`);
  }
  if (r.status === 404) return resolveEndpoints({}, { base });
  if (!r.ok) throw new EndpointsError(`${url}: HTTP ${r.status}`);
  let raw: unknown;
  try {
    raw = await r.json();
  } catch {
    throw new EndpointsError(`${url} is not JSON`);
  }
  return resolveEndpoints(raw, { base });
}
