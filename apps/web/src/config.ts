// The app's runtime configuration: where the APIs are. Read at start from `config.json` next to
// index.html, so one build runs behind any host; nothing here is baked into the bundle.
//
//   { "graphqlUrl": "https://api.example.com/graphql", "realtimeUrl": "wss://rt.example.com/ws" }
//
// Both keys are optional and may be relative to the page: without config.json (404) GraphQL is
// same-origin `/graphql` and the realtime edge same-origin `/ws` (a reverse proxy in front of all).

export interface AppConfig {
  graphqlUrl: string;
  realtimeUrl: string;
}

export class ConfigError extends Error {}

export function resolveConfig(raw: unknown, pageUrl: string): AppConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('config.json must be a JSON object like {"graphqlUrl": "...", "realtimeUrl": "..."}');
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key !== 'graphqlUrl' && key !== 'realtimeUrl') {
      throw new ConfigError(`config.json: unknown key "${key}" (expected graphqlUrl, realtimeUrl)`);
    }
  }
  const str = (key: string, dflt: string): string => {
    const v = obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`config.json: "${key}" must be a non-empty string`);
    return v;
  };
  const page = new URL(pageUrl);
  const gql = new URL(str('graphqlUrl', '/graphql'), page);
  if (gql.protocol !== 'http:' && gql.protocol !== 'https:') {
    throw new ConfigError(`config.json: graphqlUrl must be an http(s) URL, not ${gql.protocol}`);
  }
  const rt = new URL(str('realtimeUrl', '/ws'), page);
  if (rt.protocol === 'http:') rt.protocol = 'ws:';
  if (rt.protocol === 'https:') rt.protocol = 'wss:';
  if (rt.protocol !== 'ws:' && rt.protocol !== 'wss:') {
    throw new ConfigError(`config.json: realtimeUrl must be a ws(s) URL, not ${rt.protocol}`);
  }
  return { graphqlUrl: gql.toString(), realtimeUrl: rt.toString() };
}

/** Fetches `config.json` beside index.html (never cached: a deploy may change it). */
export async function loadConfig(): Promise<AppConfig> {
  const url = new URL('config.json', window.location.href).toString();
  let r: Response;
  try {
    r = await fetch(url, { cache: 'no-store' });
  } catch {
    throw new ConfigError(`cannot load ${url}`);
  }
  if (r.status === 404) return resolveConfig({}, window.location.href);
  if (!r.ok) throw new ConfigError(`${url}: HTTP ${r.status}`);
  let raw: unknown;
  try {
    raw = await r.json();
  } catch {
    throw new ConfigError(`${url} is not JSON`);
  }
  return resolveConfig(raw, window.location.href);
}
