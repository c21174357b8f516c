// Where an app finds the platform's APIs: graphql-edge's `/graphql` and realtime-edge's `/ws`.
// Read at start — the web app from `config.json` beside index.html, the mobile app from its
// settings screen, its Expo config or (web export) `config.json` — never baked into a bundle.
//
//   { "graphqlUrl": "https://api.example.com/graphql", "realtimeUrl": "wss://rt.example.com/ws" }
//
// With a base (a page's URL) both keys are optional and may be relative: GraphQL defaults to
// same-origin `/graphql`, the realtime edge to same-origin `/ws`. Without one (a phone has no
// page), both are required and absolute. `http(s)` for the realtime edge is read as `ws(s)`.

export interface Endpoints {
  graphqlUrl: string;
  realtimeUrl: string;
}

export class EndpointsError extends Error {
  override readonly name = 'EndpointsError';
  constructor(
    message: string,
    /** The key the message is about, when it is about one. */
    readonly key?: keyof Endpoints,
  ) {
    super(message);
  }
}

/** The WHATWG URL class as browsers, React Native (Expo) and Node provide it. */
interface URLLike {
  protocol: string;
  toString(): string;
}
type URLCtor = new (url: string, base?: string) => URLLike;

function parseUrl(value: string, base: string | undefined): URLLike | null {
  const Ctor = (globalThis as unknown as { URL?: URLCtor }).URL;
  if (!Ctor) throw new Error('no global URL class');
  try {
    return base === undefined ? new Ctor(value) : new Ctor(value, base);
  } catch {
    return null;
  }
}

/**
 * Checks and completes endpoints read from `source` (named in messages: "config.json", "the
 * Expo config", "settings"). Throws an EndpointsError saying what is wrong.
 */
export function resolveEndpoints(raw: unknown, opts: { base?: string; source?: string } = {}): Endpoints {
  const source = opts.source ?? 'config.json';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new EndpointsError(`${source} must be a JSON object like {"graphqlUrl": "...", "realtimeUrl": "..."}`);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key !== 'graphqlUrl' && key !== 'realtimeUrl') {
      throw new EndpointsError(`${source}: unknown key "${key}" (expected graphqlUrl, realtimeUrl)`);
    }
  }
  const read = (key: keyof Endpoints, dflt: string): string => {
    const v = obj[key];
    if (v === undefined && opts.base !== undefined) return dflt;
    if (typeof v !== 'string' || v.trim() === '') throw new EndpointsError(`${source}: "${key}" must be a non-empty string`, key);
    return v.trim();
  };
  const url = (key: keyof Endpoints, dflt: string): URLLike => {
    const value = read(key, dflt);
    const u = parseUrl(value, opts.base);
    if (!u) {
      throw new EndpointsError(
        opts.base === undefined ? `${source}: "${key}" must be an absolute URL (like ${EXAMPLES[key]})` : `${source}: "${key}" is not a URL`,
        key,
      );
    }
    return u;
  };
  const gql = url('graphqlUrl', '/graphql');
  if (gql.protocol !== 'http:' && gql.protocol !== 'https:') {
    throw new EndpointsError(`${source}: "graphqlUrl" must be an http(s) URL, not ${gql.protocol}`, 'graphqlUrl');
  }
  const rt = url('realtimeUrl', '/ws');
  if (rt.protocol === 'http:') rt.protocol = 'ws:';
  if (rt.protocol === 'https:') rt.protocol = 'wss:';
  if (rt.protocol !== 'ws:' && rt.protocol !== 'wss:') {
    throw new EndpointsError(`${source}: "realtimeUrl" must be a ws(s) URL, not ${rt.protocol}`, 'realtimeUrl');
  }
  return { graphqlUrl: gql.toString(), realtimeUrl: rt.toString() };
}

const EXAMPLES: Record<keyof Endpoints, string> = {
  graphqlUrl: 'https://api.example.com/graphql',
  realtimeUrl: 'wss://rt.example.com/ws',
};
