import { describe, expect, it } from 'vitest';
import { createAuthProvider } from './authProvider';
import { createHttpClient, OwnRequests } from './dataProvider';
import { AuthError, SessionEndedError, SessionStore } from './session';

const API = 'http://api.test/api/v1';

/** A fake rest-edge /auth: sessions with rotating refresh tokens and reuse detection. */
function fakeAuthServer(opts: { ttlMs?: number; now: () => number }) {
  const ttl = opts.ttlMs ?? 20_000;
  const user = { id: 'u1', email: 'ada@example.test', name: 'Ada', role: 'admin' as const };
  let n = 0;
  const live = new Set<string>();
  const used = new Set<string>();
  const calls: string[] = [];
  const issue = () => {
    n++;
    const refresh = `r${n}`;
    live.add(refresh);
    return {
      access_token: `a${n}`,
      access_token_expires_at: new Date(opts.now() + ttl).toISOString(),
      refresh_token: refresh,
      token_type: 'Bearer',
      user,
    };
  };
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const path = url.slice(API.length);
    calls.push(path);
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, string>) : {};
    if (path === '/auth/login') {
      if (body.password === 'slow-down') return json(429, { message: 'rate limited' }, { 'retry-after': '42' });
      if (body.password !== 'right-password') return json(401, { message: 'invalid email or password' });
      return json(200, issue());
    }
    if (path === '/auth/refresh') {
      const t = body.refresh_token ?? '';
      if (used.has(t)) {
        // Reuse: the whole family is revoked.
        live.clear();
        return json(401, { message: 'refresh token reused; session revoked', reason: 'SESSION_REVOKED' });
      }
      if (!live.has(t)) return json(401, { message: 'session revoked' });
      live.delete(t);
      used.add(t);
      return json(200, issue());
    }
    if (path === '/auth/logout') return new Response(null, { status: 204 });
    return json(200, { url, auth: new Headers(init?.headers).get('authorization') });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls, live };
}

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

function setup(ttlMs = 20_000) {
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const server = fakeAuthServer({ ttlMs, now: clock.now });
  const timers: { at: number; fn: () => void }[] = [];
  const storage = memoryStorage();
  const store = new SessionStore({
    apiUrl: API,
    storage,
    fetch: server.fetch,
    now: clock.now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      const i = timers.indexOf(h as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  /** Runs the timers due by now + ms. */
  const tick = async (ms: number) => {
    clock.advance(ms);
    for (;;) {
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      due.fn();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { store, server, storage, clock, tick };
}

describe('SessionStore', () => {
  it('signs in and reports a wrong password and a rate limit in words', async () => {
    const { store } = setup();
    await expect(store.login('ada@example.test', 'nope')).rejects.toThrow('Wrong email or password.');
    await expect(store.login('ada@example.test', 'slow-down')).rejects.toThrow(
      'Too many sign-in attempts: try again in 42 seconds.',
    );
    const s = await store.login('ada@example.test', 'right-password');
    expect(s.user.email).toBe('ada@example.test');
    expect(await store.accessToken()).toBe('a1');
  });

  it('refreshes before the access token expires, rotating the refresh token', async () => {
    const { store, tick, server } = setup(20_000);
    await store.login('ada@example.test', 'right-password');
    // A third of 20 s before expiry: at 13.3 s.
    await tick(13_000);
    expect(store.get()?.accessToken).toBe('a1');
    await tick(500);
    expect(store.get()?.accessToken).toBe('a2');
    expect(store.get()?.refreshToken).toBe('r2');
    await tick(14_000);
    expect(store.get()?.accessToken).toBe('a3');
    expect(server.calls.filter((c) => c === '/auth/refresh')).toHaveLength(2);
  });

  it('renews a nearly expired token before handing it out', async () => {
    const { store, clock } = setup(20_000);
    await store.login('ada@example.test', 'right-password');
    clock.advance(19_000);
    expect(await store.accessToken()).toBe('a2');
  });

  it('shares one refresh between concurrent callers', async () => {
    const { store, clock, server } = setup(20_000);
    await store.login('ada@example.test', 'right-password');
    clock.advance(19_000);
    const tokens = await Promise.all([store.accessToken(), store.accessToken(), store.accessToken()]);
    expect(tokens).toEqual(['a2', 'a2', 'a2']);
    expect(server.calls.filter((c) => c === '/auth/refresh')).toHaveLength(1);
  });

  it('ends the session when the refresh token was already used elsewhere', async () => {
    const { store, storage, clock } = setup(20_000);
    await store.login('ada@example.test', 'right-password');
    const stolen = store.get()!;
    await store.refresh();
    // Someone replays the old session (e.g. a copied token): the server revokes the family.
    storage.setItem('platform-sm.session', JSON.stringify(stolen));
    const seen: (string | null)[] = [];
    store.subscribe((s) => seen.push(s?.accessToken ?? null));
    clock.advance(19_000);
    await expect(store.accessToken()).rejects.toBeInstanceOf(SessionEndedError);
    expect(store.get()).toBeNull();
    expect(seen).toContain(null);
  });

  it('takes tokens another tab rotated instead of presenting a used one', async () => {
    const { store, storage, server } = setup();
    await store.login('ada@example.test', 'right-password');
    // Another tab refreshed in between: storage already holds r2.
    const other = new SessionStore({ apiUrl: API, storage, fetch: server.fetch });
    await other.refresh();
    expect(storage.getItem('platform-sm.session')).toContain('"r2"');
    await store.refresh();
    // No reuse: r2 was rotated once more to r3, nothing revoked.
    expect(store.get()?.refreshToken).toBe('r3');
  });

  it('logs out and forgets the tokens', async () => {
    const { store, server } = setup();
    await store.login('ada@example.test', 'right-password');
    await store.logout();
    expect(store.get()).toBeNull();
    expect(server.calls).toContain('/auth/logout');
    await expect(store.accessToken()).rejects.toBeInstanceOf(SessionEndedError);
  });

  it('keeps the session when the server cannot be reached', async () => {
    const { store } = setup();
    await store.login('ada@example.test', 'right-password');
    const offline = new SessionStore({
      apiUrl: API,
      storage: { getItem: () => JSON.stringify(store.get()), setItem: () => {}, removeItem: () => {} },
      fetch: (async () => {
        throw new TypeError('network down');
      }) as typeof fetch,
    });
    await expect(offline.refresh()).rejects.toBeInstanceOf(AuthError);
  });
});

describe('authProvider', () => {
  it('tells admins from members and follows project roles', async () => {
    const { store } = setup();
    await store.login('ada@example.test', 'right-password');
    const roles: Record<string, 'owner' | 'editor' | 'viewer'> = { p1: 'viewer', p2: 'editor' };
    const auth = createAuthProvider(store, async (id) => roles[id] ?? null);
    expect(await auth.getPermissions!({})).toBe('admin');
    expect(await auth.canAccess!({ resource: 'users', action: 'list' })).toBe(true);

    // The same rules for a member: rewrite the stored user's role.
    const s = store.get()!;
    store['deps'].storage.setItem('platform-sm.session', JSON.stringify({ ...s, user: { ...s.user, role: 'user' } }));
    expect(await auth.getPermissions!({})).toBe('user');
    expect(await auth.canAccess!({ resource: 'users', action: 'list' })).toBe(false);
    expect(await auth.canAccess!({ resource: 'settings', action: 'list' })).toBe(false);
    expect(await auth.canAccess!({ resource: 'events', action: 'list' })).toBe(false);
    expect(await auth.canAccess!({ resource: 'projects', action: 'edit', record: { id: 'p1', my_role: 'viewer' } })).toBe(false);
    expect(await auth.canAccess!({ resource: 'projects', action: 'edit', record: { id: 'p3', my_role: 'owner' } })).toBe(true);
    expect(await auth.canAccess!({ resource: 'configs', action: 'edit', record: { project_id: 'p1' } })).toBe(false);
    expect(await auth.canAccess!({ resource: 'configs', action: 'edit', record: { project_id: 'p2' } })).toBe(true);
    expect(await auth.canAccess!({ resource: 'configs', action: 'show', record: { project_id: 'p1' } })).toBe(true);
    expect(await auth.canAccess!({ resource: 'members', action: 'delete', record: { project_id: 'p2' } })).toBe(false);
    expect(await auth.canAccess!({ resource: 'configs', action: 'show', record: { project_id: 'gone' } })).toBe(false);
  });

  it('sends 401s to the login page and keeps the session on 403', async () => {
    const { store } = setup();
    await store.login('ada@example.test', 'right-password');
    const auth = createAuthProvider(store, async () => null);
    await expect(auth.checkError({ status: 403 })).resolves.toBeUndefined();
    expect(store.get()).not.toBeNull();
    await expect(auth.checkError({ status: 401 })).rejects.toBeDefined();
    expect(store.get()).toBeNull();
    await expect(auth.checkAuth({})).rejects.toBeDefined();
  });
});

describe('httpClient', () => {
  it('adds the bearer token and a request id this tab remembers', async () => {
    const { store, server } = setup();
    await store.login('ada@example.test', 'right-password');
    const own = new OwnRequests();
    let rid = '';
    const http = createHttpClient(store, own, (async (u: RequestInfo | URL, init?: RequestInit) => {
      rid = new Headers(init?.headers).get('x-request-id') ?? '';
      return server.fetch(u, init);
    }) as typeof fetch);
    const r = await http(`${API}/projects`);
    expect(r.json.auth).toBe('Bearer a1');
    expect(own.has(rid)).toBe(true);
    expect(own.has('someone-else')).toBe(false);
  });

  it('turns problem+json into a React Admin HttpError with field errors and the wait on 429', async () => {
    const { store } = setup();
    await store.login('ada@example.test', 'right-password');
    const respond = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      (async () => new Response(JSON.stringify(body), { status, headers })) as unknown as typeof fetch;
    const invalid = createHttpClient(
      store,
      new OwnRequests(),
      respond(422, { message: 'slug: must be lower-case', errors: [{ field: 'slug', message: 'must be lower-case' }] }),
    );
    await expect(invalid(`${API}/projects`)).rejects.toMatchObject({
      status: 422,
      message: 'slug: must be lower-case',
      body: { errors: { slug: 'must be lower-case' } },
    });
    const limited = createHttpClient(store, new OwnRequests(), respond(429, { message: 'rate limited' }, { 'retry-after': '7' }));
    await expect(limited(`${API}/projects`)).rejects.toMatchObject({ status: 429, message: 'Too many requests: try again in 7 seconds.' });
  });

  it('renews the session once when the API refuses the access token', async () => {
    const { store, server } = setup();
    await store.login('ada@example.test', 'right-password');
    let first = true;
    const http = createHttpClient(store, new OwnRequests(), (async (u: RequestInfo | URL, init?: RequestInit) => {
      if (String(u).endsWith('/projects') && first) {
        first = false;
        return new Response(JSON.stringify({ message: 'access token expired' }), { status: 401 });
      }
      return server.fetch(u, init);
    }) as typeof fetch);
    const r = await http(`${API}/projects`);
    expect(r.json.auth).toBe('Bearer a2');
  });
});
