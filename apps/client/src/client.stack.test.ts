// The client package against the real stack: the session flows over graphql-edge, and the
// realtime client over realtime-edge — across a killed and a restarted edge while two writers
// keep writing, every event of the channel exactly once and in seq order.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RestClient, startStack, type Stack } from '@platform-sm/testkit';
import {
  ApiError,
  CreateProjectDocument,
  EventsDocument,
  MeDocument,
  RealtimeClient,
  RealtimeError,
  Session,
  SetConfigDocument,
  createGraphqlClient,
  execute,
  memoryStorage,
  sessionAuth,
  type EventMessage,
  type WebSocketCtor,
} from './index.ts';

const TTL_SECS = 10;
let stack: Stack;
let admin: RestClient;

beforeAll(async () => {
  stack = await startStack({
    logDir: process.env.E2E_LOG_DIR ? join(process.env.E2E_LOG_DIR, 'client') : mkdtempSync(join(tmpdir(), 'platform-sm-client-')),
    coreEnv: { ACCESS_TOKEN_TTL_SECS: String(TTL_SECS), LOGIN_RATE_LIMIT_PER_ADDR: '100000', LOGIN_RATE_LIMIT_PER_EMAIL: '1000' },
  });
  admin = await RestClient.login(stack.restUrl, stack.admin.email, stack.admin.password);
});

afterAll(async () => {
  await stack?.stop();
});

async function signedIn(email: string, password: string, storage = memoryStorage()) {
  const session = new Session({ graphqlUrl: stack.graphqlUrl, storage });
  await session.login(email, password);
  const { client } = createGraphqlClient({ url: stack.graphqlUrl, session });
  return { session, client, storage };
}

/** Resolves when `cond()` holds, checking after each event of `session`/timer tick. */
async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('session', () => {
  it('signs up only when the platform allows it, then is signed in', async () => {
    const email = `signup.${Date.now()}@e2e.test`;
    const session = new Session({ graphqlUrl: stack.graphqlUrl, storage: memoryStorage() });
    const refused = await session.signUp(email, 'New Person', 'a-good-password-1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).reason).toBe('SIGNUP_DISABLED');
    expect(session.tokens).toBeNull();

    await admin.post('/settings', { key: 'auth.signup_enabled', value: true });
    const bad = await session.signUp('not-an-email', 'X', 'a-good-password-1').catch((e: unknown) => e);
    expect((bad as ApiError).code).toBe('BAD_USER_INPUT');
    expect((bad as ApiError).fieldError('email')).toBeTruthy();
    await session.signUp(email, 'New Person', 'a-good-password-1');
    expect(session.user?.email).toBe(email);
    expect(session.user?.role).toBe('USER');
    const again = await new Session({ graphqlUrl: stack.graphqlUrl, storage: memoryStorage() })
      .signUp(email, 'Someone Else', 'a-good-password-2')
      .catch((e: unknown) => e);
    expect((again as ApiError).reason).toBe('EMAIL_TAKEN');
    session.dispose();
  });

  it('refuses a wrong password with a typed error', async () => {
    const user = await admin.createUser();
    const session = new Session({ graphqlUrl: stack.graphqlUrl, storage: memoryStorage() });
    const err = await session.login(user.email, 'not-the-password').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('UNAUTHENTICATED');
    expect(session.tokens).toBeNull();
  });

  it('signs in, refreshes before expiry with rotation, and the old refresh token is dead', async () => {
    const user = await admin.createUser();
    const { session, client, storage } = await signedIn(user.email, user.password);
    const first = session.tokens!;
    expect(JSON.parse(storage.data.get('platform-sm.session')!).refreshToken).toBe(first.refreshToken);
    const me = await client.query(MeDocument, {}).toPromise();
    expect(me.data?.me.email).toBe(user.email);

    // The timer refreshes a third of the lifetime before expiry, without anyone asking.
    const rotated = new Promise<void>((resolve) => session.subscribe((t) => t && t.refreshToken !== first.refreshToken && resolve()));
    await rotated;
    const second = session.tokens!;
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.accessExpiresAt - Date.now()).toBeGreaterThan(0);
    // Past the first token's expiry, the client still works (on the rotated token).
    await new Promise((r) => setTimeout(r, Math.max(0, first.accessExpiresAt - Date.now() + 200)));
    expect((await client.query(MeDocument, {}, { requestPolicy: 'network-only' }).toPromise()).data?.me.id).toBe(user.id);
    session.dispose();
  });

  it('a reused refresh token ends the session everywhere', async () => {
    const user = await admin.createUser();
    const a = await signedIn(user.email, user.password);
    // A copy of the stored tokens, as a thief (or a confused second tab without the lock) has.
    const stolen = memoryStorage();
    stolen.data.set('platform-sm.session', a.storage.data.get('platform-sm.session')!);
    const thief = new Session({ graphqlUrl: stack.graphqlUrl, storage: stolen });
    await thief.load();

    await a.session.refresh();
    const ended = new Promise<string>((resolve) => thief.subscribe((t, end) => !t && end?.kind === 'ended' && resolve(end.reason)));
    const err = await thief.refresh().catch((e: unknown) => e);
    expect((err as ApiError).code).toBe('UNAUTHENTICATED');
    expect(await ended).toBe('REFRESH_TOKEN_REUSED');
    expect(stolen.data.size).toBe(0);

    // The whole session is revoked: the rightful holder's next refresh fails and ends it too.
    const aEnded = new Promise<void>((resolve) => a.session.subscribe((t, end) => !t && end?.kind === 'ended' && resolve()));
    await expect(a.session.refresh()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await aEnded;
    expect(a.session.tokens).toBeNull();
    a.session.dispose();
    thief.dispose();
  });

  it('logs out: the refresh token and the access token stop working', async () => {
    const user = await admin.createUser();
    const { session } = await signedIn(user.email, user.password);
    const t = session.tokens!;
    await session.logout();
    expect(session.tokens).toBeNull();
    const other = new Session({ graphqlUrl: stack.graphqlUrl, storage: memoryStorage() });
    const storage = memoryStorage();
    storage.data.set('platform-sm.session', JSON.stringify(t));
    const revived = new Session({ graphqlUrl: stack.graphqlUrl, storage });
    await revived.load();
    await expect(revived.refresh()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const { client } = createGraphqlClient({ url: stack.graphqlUrl, session: other });
    const me = await client.query(MeDocument, {}, { fetchOptions: { headers: { authorization: `Bearer ${t.accessToken}` } } }).toPromise();
    expect(me.error?.graphQLErrors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('realtime', () => {
  const WS = WebSocket as unknown as WebSocketCtor;

  async function project(client: Awaited<ReturnType<typeof signedIn>>['client']) {
    const slug = `rt-${Math.random().toString(36).slice(2, 10)}`;
    const r = await client.mutation(CreateProjectDocument, { input: { slug, name: slug } }).toPromise();
    if (!r.data) throw r.error;
    return r.data.createProject.id;
  }

  /** Every seq of the channel, from the log (GraphQL `events`, paged). */
  async function logSeqs(client: Awaited<ReturnType<typeof signedIn>>['client'], channel: string): Promise<number[]> {
    const seqs: number[] = [];
    let after: string | null = null;
    for (;;) {
      const r = await client.query(EventsDocument, { channel, after, first: 100 }, { requestPolicy: 'network-only' }).toPromise();
      if (!r.data) throw r.error;
      seqs.push(...r.data.events.nodes.map((n) => n.seq));
      if (!r.data.events.pageInfo.hasNextPage) return seqs;
      after = r.data.events.pageInfo.endCursor;
    }
  }

  it('delivers every event exactly once, in seq order, across a killed and a restarted edge under concurrent writes', async () => {
    const user = await admin.createUser();
    const owner = await signedIn(user.email, user.password);
    const projectId = await project(owner.client);
    const channel = `project:${projectId}`;
    const rt = new RealtimeClient({
      url: stack.realtimeUrl,
      auth: sessionAuth(owner.session),
      WebSocket: WS,
      backoff: { initialMs: 100, maxMs: 1_000 },
    });
    const received: EventMessage[] = [];
    let startSeq = 0;
    const subscribed = new Promise<void>((resolve) =>
      rt.subscribe(channel, {
        onEvent: (m) => received.push(m),
        onSubscribed: ({ seq, resumed }) => {
          if (!resumed) startSeq = seq;
          resolve();
        },
      }),
    );
    rt.start();
    await subscribed;

    // Two writers, each its own session, as two people would.
    const second = await admin.createUser();
    await admin.addMember(projectId, second.id, 'editor');
    const other = await signedIn(second.email, second.password);
    let stop = false;
    let acked = 0;
    const writer = async (c: typeof owner.client, prefix: string) => {
      for (let i = 0; !stop; i++) {
        const r = await c.mutation(SetConfigDocument, { projectId, key: `${prefix}.k${i % 5}`, value: i }).toPromise();
        if (r.error) throw r.error;
        acked++;
      }
    };
    const writers = Promise.all([writer(owner.client, 'a'), writer(other.client, 'b')]);
    try {
      await until(() => received.length >= 20, 'first events');
      // A crash, and 30 more writes acknowledged while no realtime-edge runs at all: those reach
      // the client only by replay after it reconnects.
      await stack.restart('realtime-edge', { signal: 'SIGKILL', start: false });
      const whileDown = acked;
      await until(() => acked >= whileDown + 30, 'writes while the edge is down');
      await stack.startAgain('realtime-edge');
      await until(() => rt.connectionStatus === 'open' && received.length >= whileDown + 30, 'resumed after kill');
      const beforeSecond = received.length;
      await stack.restart('realtime-edge', { signal: 'SIGTERM' });
      await until(() => rt.connectionStatus === 'open' && received.length > beforeSecond + 20, 'resumed after restart');
    } finally {
      stop = true;
      await writers;
    }
    const expected = (await logSeqs(owner.client, channel)).filter((s) => s > startSeq);
    await until(() => received.length >= expected.length, `all ${expected.length} events`);
    const seqs = received.map((m) => m.seq);
    expect(seqs).toEqual(expected);
    expect(new Set(received.map((m) => m.event.id)).size).toBe(received.length);
    expect(rt.stats.connects).toBeGreaterThanOrEqual(3);
    console.log(`realtime: ${received.length} events over ${rt.stats.connects} connections, ${rt.stats.duplicatesDropped} duplicates dropped`);
    rt.stop();
    owner.session.dispose();
    other.session.dispose();
  });

  it('keeps one connection past several token lifetimes (auth frames), and ends a removed member’s channel with a typed error', async () => {
    const owner = await signedIn(stack.admin.email, stack.admin.password);
    const projectId = await project(owner.client);
    const viewer = await admin.createUser();
    const membership = await admin.addMember(projectId, viewer.id, 'viewer');
    const v = await signedIn(viewer.email, viewer.password);
    const rt = new RealtimeClient({ url: stack.realtimeUrl, auth: sessionAuth(v.session), WebSocket: WS });
    const received: number[] = [];
    const errors: RealtimeError[] = [];
    rt.subscribe(`project:${projectId}`, { onEvent: (m) => received.push(m.seq), onError: (e) => errors.push(e) });
    rt.start();
    await until(() => rt.connectionStatus === 'open', 'open');
    // The server closes a socket whose token expired (1008) unless an auth frame renewed it.
    await new Promise((r) => setTimeout(r, (TTL_SECS + 3) * 1000));
    await execute(owner.client, SetConfigDocument, { projectId, key: 'late', value: true });
    await until(() => received.length === 1, 'the event after expiry');
    expect(rt.stats.connects).toBe(1);

    await admin.del(`/members/${membership.id}`);
    await until(() => errors.length === 1, 'the access error');
    expect(errors[0]).toBeInstanceOf(RealtimeError);
    expect(errors[0]!.accessLost).toBe(true);
    expect(errors[0]!.channel).toBe(`project:${projectId}`);
    rt.stop();
    owner.session.dispose();
    v.session.dispose();
  });
});
