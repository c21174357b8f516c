// What the package needs from its host, and nothing more: it runs in browsers, in React Native
// and in Node, so it names no DOM or Node type. The hosts' globals are reached through this file
// only; apps may inject their own (a WebSocket class on Node, a fetch with logging, fake timers).

/** The part of `fetch` the package uses. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: unknown },
) => Promise<{ ok: boolean; status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** The standard WebSocket interface as browsers, React Native and the `ws` package provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface HostGlobals {
  fetch?: FetchLike;
  WebSocket?: WebSocketCtor;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const host = globalThis as unknown as HostGlobals;

export const hostTimers: Timers = {
  setTimeout: (fn, ms) => host.setTimeout(fn, ms),
  clearTimeout: (h) => host.clearTimeout(h),
};

export function hostFetch(): FetchLike {
  if (!host.fetch) throw new Error('no global fetch: pass `fetch` in the options');
  return host.fetch.bind(globalThis) as FetchLike;
}

export function hostWebSocket(): WebSocketCtor {
  if (!host.WebSocket) throw new Error('no global WebSocket: pass `WebSocket` in the options (e.g. the `ws` package on Node)');
  return host.WebSocket;
}

/** Key-value storage the app provides: localStorage on the web, secure storage on a phone. */
export interface TokenStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** A storage that forgets on exit (tests, or a "don't remember me" session). */
export function memoryStorage(): TokenStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}
