// Where the platform is, decided at start, in this order:
//   1. the Server settings screen (what the person saved, in the app's storage);
//   2. on the web export, `config.json` beside index.html (the host says where its APIs are);
//   3. the Expo config's `extra.platform`, filled from PLATFORM_GRAPHQL_URL / PLATFORM_REALTIME_URL
//      when the dev server or the export started (app.config.ts).
// With none of them the app opens on the settings screen. Every source is checked the same way
// (the shared client's resolveEndpoints) and a bad one is reported, not half-used.
import { EndpointsError, resolveEndpoints, type Endpoints, type TokenStorage } from '@platform-sm/client';

export type EndpointsSource = 'settings' | 'config.json' | 'expo';

export interface Resolved {
  endpoints: Endpoints;
  source: EndpointsSource;
}

export interface StartConfig {
  /** What the app uses now (null: ask on the settings screen). */
  current: Resolved | null;
  /** What it would use without saved settings (config.json or the Expo config). */
  fallback: Resolved | null;
  /** Problems met on the way (a broken config.json, bad saved settings), to show. */
  problems: string[];
}

export const SERVER_KEY = 'platform-sm.mobile.server';

export const SOURCE_LABEL: Record<EndpointsSource, string> = {
  settings: 'saved in this app',
  'config.json': 'from config.json',
  expo: 'from the app config',
};

/** The Expo config's `extra` as the app received it. */
export function expoEndpoints(extra: unknown): Endpoints | null {
  const platform = (extra as { platform?: unknown } | null | undefined)?.platform;
  if (platform === undefined || platform === null) return null;
  const p = platform as Record<string, unknown>;
  return resolveEndpoints(
    { graphqlUrl: p.graphqlUrl ?? undefined, realtimeUrl: p.realtimeUrl ?? undefined },
    { source: 'The app config (PLATFORM_GRAPHQL_URL, PLATFORM_REALTIME_URL)' },
  );
}

/**
 * `config.json` beside the page (web export only): null when there is none. A dev server that
 * answers every path with index.html has none either.
 */
export async function fetchConfigJson(pageUrl: string, fetchFn: typeof fetch = fetch): Promise<Endpoints | null> {
  const url = new URL('config.json', pageUrl).toString();
  let r: Response;
  try {
    r = await fetchFn(url, { cache: 'no-store' });
  } catch {
    throw new EndpointsError(`cannot load ${url}`);
  }
  if (r.status === 404) return null;
  if (!r.ok) throw new EndpointsError(`${url}: HTTP ${r.status}`);
  if ((r.headers.get('content-type') ?? '').includes('text/html')) return null;
  let raw: unknown;
  try {
    raw = await r.json();
  } catch {
    throw new EndpointsError(`${url} is not JSON`);
  }
  return resolveEndpoints(raw, { base: pageUrl, source: 'config.json' });
}

export async function loadStartConfig(deps: {
  storage: TokenStorage;
  expoExtra: unknown;
  /** The web export's page URL (undefined on a phone). */
  pageUrl?: string;
  fetch?: typeof fetch;
}): Promise<StartConfig> {
  const problems: string[] = [];
  let fallback: Resolved | null = null;
  if (deps.pageUrl !== undefined) {
    try {
      const fromJson = await fetchConfigJson(deps.pageUrl, deps.fetch);
      if (fromJson) fallback = { endpoints: fromJson, source: 'config.json' };
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (!fallback) {
    try {
      const fromExpo = expoEndpoints(deps.expoExtra);
      if (fromExpo) fallback = { endpoints: fromExpo, source: 'expo' };
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  const saved = await loadSaved(deps.storage).catch((e: unknown) => {
    problems.push(e instanceof Error ? e.message : String(e));
    return null;
  });
  return { current: saved ? { endpoints: saved, source: 'settings' } : fallback, fallback, problems };
}

async function loadSaved(storage: TokenStorage): Promise<Endpoints | null> {
  const raw = await storage.getItem(SERVER_KEY);
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    await storage.removeItem(SERVER_KEY);
    throw new EndpointsError('The saved server settings were unreadable and have been cleared.');
  }
  return resolveEndpoints(parsed, { source: 'The saved server settings' });
}

/** Checks and saves what the person typed; throws an EndpointsError naming the bad field. */
export async function saveServer(storage: TokenStorage, input: { graphqlUrl: string; realtimeUrl: string }): Promise<Endpoints> {
  const endpoints = resolveEndpoints(input, { source: 'Server settings' });
  await storage.setItem(SERVER_KEY, JSON.stringify(endpoints));
  return endpoints;
}

export async function clearServer(storage: TokenStorage): Promise<void> {
  await storage.removeItem(SERVER_KEY);
}

/** "api.example.com" — the host a person recognises. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
