// The signed-in session: tokens in storage the app provides (localStorage on the web, secure
// storage on a phone), the access token refreshed before it expires. Refresh rotates the refresh
// token, and core-svc treats a refresh token presented twice as stolen and revokes the whole
// session — so refreshes are serialised (one at a time in this process, and across processes
// that share the storage when the app passes a lock, e.g. the Web Locks API across tabs), and a
// refused refresh ends the session here too.
import { Client, fetchExchange, type AnyVariables, type DocumentInput } from '@urql/core';
import { ApiError, toApiError } from './errors.ts';
import {
  LoginDocument,
  LogoutDocument,
  RefreshTokenDocument,
  SignUpDocument,
  type SessionUserFragment,
  type TokensFragment,
} from './generated/graphql.ts';
import { hostTimers, type FetchLike, type Timers, type TokenStorage } from './platform.ts';

export type SessionUser = SessionUserFragment;

export interface SessionTokens {
  accessToken: string;
  /** ms since the epoch */
  accessExpiresAt: number;
  /** ms since the epoch, when the access token was received (the refresh margin is a share of its life) */
  receivedAt: number;
  refreshToken: string;
  user: SessionUser;
}

/** Why a session ended. */
export type SessionEnd =
  | { kind: 'signed-out' }
  /** The server refused the refresh token: expired, revoked (logout elsewhere, password change), or reused. */
  | { kind: 'ended'; reason: string; message: string };

export interface LockLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface SessionOptions {
  /** graphql-edge's `/graphql` URL. */
  graphqlUrl: string;
  storage: TokenStorage;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** A lock shared by everything using the same storage (browser tabs: `navigator.locks`). */
  lock?: LockLike;
  /** Storage key; default `platform-sm.session`. */
  key?: string;
  now?: () => number;
  timers?: Timers;
  /** Retry a refresh that failed for a passing reason (network, 5xx) after this long. */
  retryMs?: number;
}

export type SessionListener = (tokens: SessionTokens | null, end?: SessionEnd) => void;

/** Refresh a third of the token's lifetime before it expires, and at most a minute before. */
export function refreshDueAt(t: Pick<SessionTokens, 'accessExpiresAt' | 'receivedAt'>): number {
  const lifetime = Math.max(0, t.accessExpiresAt - t.receivedAt);
  return t.accessExpiresAt - Math.min(60_000, lifetime / 3);
}

export class Session {
  private readonly key: string;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly anonymous: Client;
  private current: SessionTokens | null = null;
  private refreshing: Promise<SessionTokens> | null = null;
  private timer: unknown = null;
  private listeners = new Set<SessionListener>();
  private loaded = false;

  constructor(private readonly opts: SessionOptions) {
    this.key = opts.key ?? 'platform-sm.session';
    this.now = opts.now ?? Date.now;
    this.timers = opts.timers ?? hostTimers;
    this.anonymous = graphqlTransport(opts.graphqlUrl, opts.fetch);
  }

  /** Reads the stored session (call once at start, and when another tab changed the storage). */
  async load(): Promise<SessionTokens | null> {
    const raw = await this.opts.storage.getItem(this.key);
    let next: SessionTokens | null = null;
    if (raw) {
      try {
        next = JSON.parse(raw) as SessionTokens;
      } catch {
        await this.opts.storage.removeItem(this.key);
      }
    }
    const changed = !this.loaded || next?.accessToken !== this.current?.accessToken;
    this.loaded = true;
    this.current = next;
    this.schedule();
    if (changed) this.emit(next ?? null, next ? undefined : { kind: 'signed-out' });
    return next;
  }

  get tokens(): SessionTokens | null {
    return this.current;
  }

  get user(): SessionUser | null {
    return this.current?.user ?? null;
  }

  /** Called on every change: sign-in, each refresh (new tokens), and the end of the session. */
  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(tokens: SessionTokens | null, end?: SessionEnd): void {
    for (const l of [...this.listeners]) l(tokens, end);
  }

  async login(email: string, password: string): Promise<SessionTokens> {
    const data = await execute(this.anonymous, LoginDocument, { email, password });
    return this.store(data.login);
  }

  /**
   * Creates an account (only when the platform allows sign-up: else an ApiError with reason
   * SIGNUP_DISABLED) and signs in with it.
   */
  async signUp(email: string, name: string, password: string): Promise<SessionTokens> {
    await execute(this.anonymous, SignUpDocument, { email, name, password });
    return this.login(email, password);
  }

  private async store(payload: TokensFragment, previous?: SessionTokens): Promise<SessionTokens> {
    const user = payload.user ?? previous?.user;
    if (!user) throw new ApiError('INTERNAL', 'the sign-in answer has no user');
    const now = this.now();
    const exp = payload.accessTokenExpiresAt ? Date.parse(payload.accessTokenExpiresAt) : NaN;
    const tokens: SessionTokens = {
      accessToken: payload.accessToken,
      accessExpiresAt: Number.isFinite(exp) ? exp : now + 15 * 60_000,
      receivedAt: now,
      refreshToken: payload.refreshToken,
      user,
    };
    await this.opts.storage.setItem(this.key, JSON.stringify(tokens));
    this.current = tokens;
    this.loaded = true;
    this.schedule();
    this.emit(tokens);
    return tokens;
  }

  /** Forgets the session locally (no server call), telling listeners why. */
  async end(end: SessionEnd): Promise<void> {
    this.clearTimer();
    this.current = null;
    await this.opts.storage.removeItem(this.key);
    this.emit(null, end);
  }

  /**
   * A valid access token: the current one, or a fresh one when it is due for refresh.
   * Rejects with an UNAUTHENTICATED ApiError when there is no session (any more).
   */
  async accessToken(): Promise<string> {
    if (!this.loaded) await this.load();
    const t = this.current;
    if (!t) throw new ApiError('UNAUTHENTICATED', 'not signed in', { reason: 'NO_SESSION' });
    if (this.now() < refreshDueAt(t)) return t.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Rotates the tokens; concurrent callers share one refresh. */
  refresh(): Promise<SessionTokens> {
    if (!this.refreshing) {
      const presented = this.current?.refreshToken;
      const run = () => this.doRefresh(presented);
      const p = this.opts.lock ? this.opts.lock.request(`${this.key}.refresh`, run) : run();
      this.refreshing = p.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(presented: string | undefined): Promise<SessionTokens> {
    if (this.opts.lock) {
      // Another holder of the storage may have rotated while we waited for the lock: its
      // tokens are ours too, and presenting the old refresh token again would end the session.
      await this.load();
    }
    const t = this.current;
    if (!t) throw new ApiError('UNAUTHENTICATED', 'not signed in', { reason: 'NO_SESSION' });
    if (presented !== undefined && t.refreshToken !== presented && this.now() < refreshDueAt(t)) return t;
    let data;
    try {
      data = await execute(this.anonymous, RefreshTokenDocument, { refreshToken: t.refreshToken });
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'UNAUTHENTICATED' || err.code === 'BAD_USER_INPUT') {
        await this.end({ kind: 'ended', reason: err.reason ?? err.code, message: err.message });
      }
      throw err;
    }
    return this.store(data.refreshToken, t);
  }

  /** Ends the session on the server (revokes its refresh token) and here. */
  async logout(): Promise<void> {
    const t = this.current;
    await this.end({ kind: 'signed-out' });
    if (!t) return;
    try {
      await execute(this.anonymous, LogoutDocument, { refreshToken: t.refreshToken }, t.accessToken);
    } catch {
      // Signed out here either way; the server's refresh token expires on its own.
    }
  }

  /** Stops the refresh timer (the app is going away). */
  dispose(): void {
    this.clearTimer();
    this.listeners.clear();
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.clearTimer();
    const t = this.current;
    if (!t) return;
    const delay = Math.max(0, refreshDueAt(t) - this.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.refresh().catch((e: unknown) => {
        // An ended session has been cleared and announced; anything else is passing (network,
        // server restarting): try again soon, the access token may still be good.
        if (this.current && !(e instanceof ApiError && e.code === 'UNAUTHENTICATED')) {
          this.timer = this.timers.setTimeout(() => this.schedule(), this.opts.retryMs ?? 5_000);
        }
      });
    }, delay);
  }
}

/** A bare urql client: POST only (graphql-edge answers GET with GraphiQL), no cache. */
export function graphqlTransport(url: string, fetch?: FetchLike): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    preferGetMethod: false,
    requestPolicy: 'network-only',
    ...(fetch ? { fetch: fetch as never } : {}),
  });
}

/** Runs one operation and returns its data, or throws its error as an ApiError. */
export async function execute<Data, Variables extends AnyVariables>(
  client: Client,
  document: DocumentInput<Data, Variables>,
  variables: Variables,
  token?: string,
): Promise<Data> {
  const context = token ? { fetchOptions: { headers: { authorization: `Bearer ${token}` } } } : undefined;
  const result = await client.mutation(document, variables, context).toPromise();
  if (result.error) throw toApiError(result.error);
  if (!result.data) throw new ApiError('INTERNAL', 'the server answered without data');
  return result.data;
}
