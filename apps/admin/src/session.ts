// The signed-in session: tokens in localStorage (shared by the tabs of one browser), refreshed
// before the access token expires. Refresh rotates the refresh token, and presenting a used one
// revokes the whole session (core-svc's reuse detection), so two tabs must never refresh with the
// same token: refreshes are serialised across tabs with the Web Locks API, and a tab that gets
// the lock after another one rotated simply takes the new tokens.

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'user';
}

export interface StoredSession {
  accessToken: string;
  /** ms since epoch */
  accessExpiresAt: number;
  /** ms since epoch, when the access token was received (for the refresh margin) */
  receivedAt: number;
  refreshToken: string;
  user: SessionUser;
}

/** The server ended the session (bad credentials, revoked, reused refresh token, disabled user). */
export class SessionEndedError extends Error {
  readonly status = 401;
}

/** A refused sign-in or a failure to reach the API, with the message to show. */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface SessionDeps {
  apiUrl: string;
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  fetch: typeof fetch;
  now?: () => number;
  /** `navigator.locks` where the browser has it. */
  locks?: { request<T>(name: string, cb: () => Promise<T>): Promise<T> };
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export const SESSION_KEY = 'platform-sm.session';
const KEY = SESSION_KEY;
const LOCK = 'platform-sm.refresh';
/** Retry a refresh that failed for a transient reason (network, 5xx) after this long. */
const RETRY_MS = 5_000;

interface SessionBody {
  access_token: string;
  access_token_expires_at?: string;
  refresh_token: string;
  user?: SessionUser;
}

/** "try again in N seconds" from a 429's Retry-After. */
export function retryAfterText(headers: Headers): string {
  const raw = headers.get('retry-after');
  const secs = raw === null ? NaN : Number(raw);
  if (!Number.isFinite(secs) || secs <= 0) return 'try again later';
  if (secs < 90) return `try again in ${Math.ceil(secs)} seconds`;
  return `try again in ${Math.ceil(secs / 60)} minutes`;
}

async function problemMessage(r: Response): Promise<string> {
  try {
    const body = (await r.json()) as { message?: string; detail?: string };
    return body.message || body.detail || r.statusText;
  } catch {
    return r.statusText || `HTTP ${r.status}`;
  }
}

export class SessionStore {
  private readonly now: () => number;
  private refreshing: Promise<void> | null = null;
  private timer: unknown = null;
  private listeners = new Set<(s: StoredSession | null) => void>();

  constructor(private readonly deps: SessionDeps) {
    this.now = deps.now ?? Date.now;
  }

  get(): StoredSession | null {
    const raw = this.deps.storage.getItem(KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as StoredSession;
    } catch {
      this.deps.storage.removeItem(KEY);
      return null;
    }
  }

  /** Called on every change of tokens or user (also when another tab changed them). */
  subscribe(listener: (s: StoredSession | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Another tab wrote the session (the `storage` event). */
  externalChange(): void {
    this.notify();
  }

  private notify(): void {
    const s = this.get();
    this.schedule(s);
    for (const l of this.listeners) l(s);
  }

  private store(body: SessionBody, previous: StoredSession | null): void {
    const user = body.user ?? previous?.user;
    if (!user) throw new AuthError('the sign-in answer has no user', 500);
    const now = this.now();
    const exp = body.access_token_expires_at ? Date.parse(body.access_token_expires_at) : NaN;
    const session: StoredSession = {
      accessToken: body.access_token,
      accessExpiresAt: Number.isFinite(exp) ? exp : now + 15 * 60_000,
      receivedAt: now,
      refreshToken: body.refresh_token,
      user,
    };
    this.deps.storage.setItem(KEY, JSON.stringify(session));
    this.notify();
  }

  clear(): void {
    if (this.deps.storage.getItem(KEY) === null) return;
    this.deps.storage.removeItem(KEY);
    this.notify();
  }

  async login(email: string, password: string): Promise<StoredSession> {
    let r: Response;
    try {
      r = await this.deps.fetch(`${this.deps.apiUrl}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ email, password }),
      });
    } catch {
      throw new AuthError('Cannot reach the server; check your connection and try again.', 0);
    }
    if (r.status === 429) {
      throw new AuthError(`Too many sign-in attempts: ${retryAfterText(r.headers)}.`, 429);
    }
    if (r.status === 401) throw new AuthError('Wrong email or password.', 401);
    if (!r.ok) throw new AuthError(await problemMessage(r), r.status);
    this.store((await r.json()) as SessionBody, null);
    return this.get()!;
  }

  /** When to refresh: a third of the token's lifetime before expiry, at most a minute before. */
  private refreshAt(s: StoredSession): number {
    const lifetime = Math.max(0, s.accessExpiresAt - s.receivedAt);
    return s.accessExpiresAt - Math.min(60_000, lifetime / 3);
  }

  private schedule(s: StoredSession | null): void {
    const clear = this.deps.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    const set = this.deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    if (this.timer !== null) clear(this.timer);
    this.timer = null;
    if (!s) return;
    const delay = Math.max(0, this.refreshAt(s) - this.now());
    this.timer = set(() => {
      this.timer = null;
      this.refresh().catch((e: unknown) => {
        // Ended sessions have already been cleared (and listeners told); anything else is
        // transient: try again soon, the access token may still be valid.
        if (!(e instanceof SessionEndedError)) this.timer = set(() => void this.refresh().catch(() => {}), RETRY_MS);
      });
    }, delay);
  }

  /** Starts the refresh timer for a session already in storage (page load). */
  start(): void {
    this.schedule(this.get());
  }

  /** A valid access token, refreshed first when it is (nearly) expired. */
  async accessToken(): Promise<string> {
    let s = this.get();
    if (!s) throw new SessionEndedError('not signed in');
    if (this.now() >= this.refreshAt(s)) {
      await this.refresh();
      s = this.get();
      if (!s) throw new SessionEndedError('not signed in');
    }
    return s.accessToken;
  }

  /** Rotates the tokens; one refresh at a time per tab, and per browser where locks exist. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      const started = this.get()?.refreshToken;
      const run = () => this.doRefresh(started);
      const p = this.deps.locks ? this.deps.locks.request(LOCK, run) : run();
      this.refreshing = p.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(started: string | undefined): Promise<void> {
    const s = this.get();
    if (!s) throw new SessionEndedError('not signed in');
    // Another tab rotated while we waited for the lock: its tokens are ours too.
    if (started !== undefined && s.refreshToken !== started) {
      this.notify();
      return;
    }
    let r: Response;
    try {
      r = await this.deps.fetch(`${this.deps.apiUrl}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ refresh_token: s.refreshToken }),
      });
    } catch {
      throw new AuthError('Cannot reach the server to renew the session.', 0);
    }
    if (r.status === 401 || r.status === 400 || r.status === 404) {
      // Revoked, expired, or reused (someone else presented this token: the session is gone).
      this.clear();
      throw new SessionEndedError(await problemMessage(r));
    }
    if (!r.ok) throw new AuthError(await problemMessage(r), r.status);
    this.store((await r.json()) as SessionBody, s);
  }

  async logout(): Promise<void> {
    const s = this.get();
    this.clear();
    if (!s) return;
    try {
      await this.deps.fetch(`${this.deps.apiUrl}/auth/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessToken}` },
        body: JSON.stringify({ refresh_token: s.refreshToken }),
      });
    } catch {
      // Signed out locally either way; the refresh token expires on its own.
    }
  }
}
