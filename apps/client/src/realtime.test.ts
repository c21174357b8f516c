// The realtime client against a scripted socket: what the real-stack test cannot force (an
// out-of-range resume point, a duplicate at a seam, the backoff's bounds, a refused token).
import { describe, expect, it } from 'vitest';
import { OutOfRangeError, RealtimeClient, RealtimeError, type RealtimeAuth } from './realtime.ts';
import type { Timers, WebSocketLike } from './platform.ts';

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Array<Record<string, unknown>> = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  subscribes() {
    return this.sent.filter((f) => f.type === 'subscribe');
  }
}

function fakeTimers() {
  const pending: Array<{ fn: () => void; ms: number; h: number }> = [];
  let n = 0;
  const timers: Timers & { pending: typeof pending; runAll(): void } = {
    pending,
    setTimeout: (fn, ms) => {
      pending.push({ fn, ms, h: ++n });
      return n;
    },
    clearTimeout: (h) => {
      const i = pending.findIndex((p) => p.h === h);
      if (i >= 0) pending.splice(i, 1);
    },
    runAll() {
      for (const p of pending.splice(0)) p.fn();
    },
  };
  return timers;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup(auth?: Partial<RealtimeAuth>) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const tokens: Array<boolean | undefined> = [];
  let listener: (() => void) | null = null;
  const rt = new RealtimeClient({
    url: 'ws://x/ws',
    auth: {
      token: async (o) => {
        tokens.push(o?.fresh);
        return `t${tokens.length}`;
      },
      onTokenChange: (l) => {
        listener = l;
        return () => (listener = null);
      },
      ...auth,
    },
    WebSocket: FakeSocket,
    timers,
    random: () => 0.5,
    pingIntervalMs: 0,
  });
  return { rt, timers, tokens, rotate: () => listener?.() };
}

async function connected(rt: RealtimeClient): Promise<FakeSocket> {
  await tick();
  const ws = FakeSocket.all.at(-1)!;
  ws.open();
  ws.frame({ type: 'authenticated', id: 'auth', user_id: 'u' });
  return ws;
}

const ev = (seq: number, channel = 'project:p', channels = [channel]) => ({
  type: 'event',
  channel,
  seq,
  event: { id: `e${seq}`, type: 'config.set', channels },
});

describe('RealtimeClient', () => {
  it('authenticates in the first frame, then subscribes every channel at once', async () => {
    const { rt } = setup();
    rt.subscribe('project:p', { onEvent: () => {} });
    rt.subscribe('user:u', { onEvent: () => {} });
    rt.start();
    const ws = await connected(rt);
    expect(ws.url).toBe('ws://x/ws');
    expect(ws.sent[0]).toEqual({ type: 'auth', id: 'auth', token: 't1' });
    expect(ws.subscribes().map((f) => f.channel)).toEqual(['project:p', 'user:u']);
    expect(ws.subscribes().every((f) => f.after === undefined)).toBe(true);
  });

  it('resumes each channel after its own last seq, and never delivers a seq twice', async () => {
    const { rt, timers } = setup();
    const got: number[] = [];
    rt.subscribe('project:p', { onEvent: (m) => got.push(m.seq) });
    rt.start();
    let ws = await connected(rt);
    ws.frame({ type: 'subscribed', channel: 'project:p', seq: 10 });
    ws.frame(ev(11));
    ws.frame(ev(12));
    ws.drop(1001);
    expect(rt.connectionStatus).toBe('reconnecting');
    timers.runAll();
    ws = await connected(rt);
    expect(ws.subscribes()).toEqual([expect.objectContaining({ channel: 'project:p', after: 12 })]);
    ws.frame({ type: 'subscribed', channel: 'project:p', seq: 20 });
    ws.frame(ev(12)); // a duplicate at the seam is dropped
    ws.frame(ev(13));
    expect(got).toEqual([11, 12, 13]);
    expect(rt.stats.duplicatesDropped).toBe(1);
  });

  it('delivers an event on two subscribed channels once, and advances both cursors', async () => {
    const { rt } = setup();
    const got: string[] = [];
    const h = { onEvent: (m: { seq: number }) => got.push(`h${m.seq}`) };
    rt.subscribe('project:p', h);
    rt.subscribe('user:u', h);
    rt.start();
    const ws = await connected(rt);
    ws.frame({ type: 'subscribed', channel: 'project:p', seq: 1 });
    ws.frame({ type: 'subscribed', channel: 'user:u', seq: 1 });
    ws.frame(ev(5, 'user:u', ['project:p', 'user:u']));
    expect(got).toEqual(['h5']);
    expect(rt.cursor('project:p')).toBe(5);
    expect(rt.cursor('user:u')).toBe(5);
  });

  it('surfaces out_of_range as a typed error with oldest_seq, and restarts fresh when asked', async () => {
    const { rt } = setup();
    const errors: RealtimeError[] = [];
    rt.subscribe('project:p', { onEvent: () => {}, onError: (e) => errors.push(e) }, { after: 3 });
    rt.start();
    const ws = await connected(rt);
    expect(ws.subscribes()[0]).toMatchObject({ after: 3 });
    ws.frame({ type: 'error', id: '1', code: 'out_of_range', channel: 'project:p', oldest_seq: 51873, message: 'gone' });
    expect(errors[0]).toBeInstanceOf(OutOfRangeError);
    expect((errors[0] as OutOfRangeError).oldestSeq).toBe(51873);
    rt.restart('project:p');
    expect(ws.subscribes().at(-1)).toEqual(expect.objectContaining({ channel: 'project:p' }));
    expect(ws.subscribes().at(-1)!.after).toBeUndefined();
  });

  it('reports lost access per channel and keeps the others', async () => {
    const { rt } = setup();
    const errors: RealtimeError[] = [];
    const got: number[] = [];
    rt.subscribe('project:p', { onEvent: () => {}, onError: (e) => errors.push(e) });
    rt.subscribe('project:q', { onEvent: (m) => got.push(m.seq) });
    rt.start();
    const ws = await connected(rt);
    ws.frame({ type: 'subscribed', channel: 'project:p', seq: 1 });
    ws.frame({ type: 'subscribed', channel: 'project:q', seq: 1 });
    ws.frame({ type: 'error', code: 'not_found', channel: 'project:p', message: 'project not found' });
    ws.frame(ev(2, 'project:q'));
    expect(errors.map((e) => [e.code, e.accessLost])).toEqual([['not_found', true]]);
    expect(got).toEqual([2]);
  });

  it('sends each rotated token in an auth frame on the open connection', async () => {
    const { rt, rotate } = setup();
    rt.start();
    const ws = await connected(rt);
    rotate();
    await tick();
    expect(ws.sent.at(-1)).toEqual(expect.objectContaining({ type: 'auth', token: 't2' }));
  });

  it('after a 1008 close reconnects at once with a fresh token; when there is no session it stops', async () => {
    let ended = false;
    const { rt, timers, tokens } = setup({
      token: async (o) => {
        if (ended) throw Object.assign(new Error('not signed in'), { code: 'UNAUTHENTICATED' });
        return o?.fresh ? 'fresh' : 'old';
      },
    });
    const errors: RealtimeError[] = [];
    rt.onError((e) => errors.push(e));
    rt.start();
    const ws = await connected(rt);
    ws.drop(1008);
    expect(timers.pending[0]!.ms).toBe(0);
    timers.runAll();
    await tick();
    expect(FakeSocket.all.at(-1)).not.toBe(ws);
    FakeSocket.all.at(-1)!.open();
    expect(FakeSocket.all.at(-1)!.sent[0]).toMatchObject({ type: 'auth', token: 'fresh' });
    void tokens;
    ended = true;
    FakeSocket.all.at(-1)!.drop(1008);
    timers.runAll();
    await tick();
    expect(rt.connectionStatus).toBe('closed');
    expect(errors.map((e) => e.code)).toEqual(['unauthenticated']);
  });

  it('backs off exponentially with jitter, capped', async () => {
    FakeSocket.all = [];
    const timers = fakeTimers();
    let r = 0;
    const rt = new RealtimeClient({
      url: 'ws://x/ws',
      auth: { token: async () => 't' },
      WebSocket: FakeSocket,
      timers,
      random: () => r,
      backoff: { initialMs: 100, maxMs: 1000 },
      pingIntervalMs: 0,
    });
    rt.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await tick();
      r = i % 2 === 0 ? 0 : 0.999;
      FakeSocket.all.at(-1)!.drop(1006);
      delays.push(Math.round(timers.pending[0]!.ms));
      timers.runAll();
    }
    // Attempt n waits between half and all of min(1000, 100·2ⁿ).
    expect(delays).toEqual([50, 200, 200, 800, 500, 1000]);
  });

  it('drops a silent connection after an unanswered ping', async () => {
    FakeSocket.all = [];
    const timers = fakeTimers();
    const rt = new RealtimeClient({
      url: 'ws://x/ws',
      auth: { token: async () => 't' },
      WebSocket: FakeSocket,
      timers,
      random: () => 0,
      pingIntervalMs: 1000,
      pongTimeoutMs: 500,
    });
    rt.start();
    const ws = await connected(rt);
    timers.runAll(); // the ping
    expect(ws.sent.at(-1)).toMatchObject({ type: 'ping' });
    timers.runAll(); // no pong
    expect(rt.connectionStatus).toBe('reconnecting');
  });
});
