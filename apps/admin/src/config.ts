// The panel's runtime configuration: where the APIs are. Read at start from `config.json` next to
// index.html, so one build runs behind any host; nothing here is baked into the bundle.
//
//   { "apiUrl": "https://api.example.com/api/v1", "realtimeUrl": "wss://rt.example.com/ws" }
//
// Both keys are optional and may be relative to the page: without config.json (404), the API is
// same-origin `/api/v1` and the realtime edge same-origin `/ws` (a reverse proxy in front of all).

export interface AppConfig {
  /** rest-edge base, e.g. `http://127.0.0.1:8080/api/v1`. */
  apiUrl: string;
  /** realtime-edge WebSocket, e.g. `ws://127.0.0.1:8082/ws`. */
  realtimeUrl: string;
}

export class ConfigError extends Error {}

/** Resolves `raw` (absolute or relative) against `base`; WebSocket URLs get ws/wss. */
export function resolveConfig(raw: unknown, pageUrl: string): AppConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('config.json must be a JSON object like {"apiUrl": "...", "realtimeUrl": "..."}');
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key !== 'apiUrl' && key !== 'realtimeUrl') {
      throw new ConfigError(`config.json: unknown key "${key}" (expected apiUrl, realtimeUrl)`);
    }
  }
  const str = (key: string, dflt: string): string => {
    const v = obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`config.json: "${key}" must be a non-empty string`);
    return v;
  };
  const page = new URL(pageUrl);
  const api = new URL(str('apiUrl', '/api/v1'), page);
  if (api.protocol !== 'http:' && api.protocol !== 'https:') {
    throw new ConfigError(`config.json: apiUrl must be an http(s) URL, not ${api.protocol}`);
  }
  const rt = new URL(str('realtimeUrl', '/ws'), page);
  if (rt.protocol === 'http:') rt.protocol = 'ws:';
  if (rt.protocol === 'https:') rt.protocol = 'wss:';
  if (rt.protocol !== 'ws:' && rt.protocol !== 'wss:') {
    throw new ConfigError(`config.json: realtimeUrl must be a ws(s) URL, not ${rt.protocol}`);
  }
  return { apiUrl: api.toString().replace(/\/$/, ''), realtimeUrl: rt.toString() };
}

/** Fetches `config.json` beside the page; a 404 means "same-origin defaults". */
export async function loadConfig(pageUrl: string = window.location.href): Promise<AppConfig> {
  const url = new URL('config.json', pageUrl);
  const r = await fetch(url, { cache: 'no-store' });
  if (r.status === 404) return resolveConfig({}, pageUrl);
  if (!r.ok) throw new ConfigError(`cannot read ${url}: HTTP ${r.status}`);
  let raw: unknown;
  try {
    raw = await r.json();
  } catch {
    throw new ConfigError(`${url} is not JSON`);
  }
  return resolveConfig(raw, pageUrl);
}
