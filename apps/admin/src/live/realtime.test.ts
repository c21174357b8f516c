import { describe, expect, it } from 'vitest';
import { isStale, resourcesFor } from './invalidation';
import { RealtimeClient, type EventFrame, type SocketLike } from './realtime';

/** A fake realtime-edge socket: records what the client sends, lets the test answer. */
class FakeSocket implements SocketLike {
  sent: Record<string, any>[] = [];
  closed: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.closed = code;
  }
  open() {
    this.onopen?.({});
  }
  frame(f: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code = 1006) {
    this.onclose?.({ code });
  }
  ofType(type: string) {
    return this.sent.filter((f) => f.type === type);
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  let token = 't1';
  const client = new RealtimeClient({
    url: 'ws://rt.test/ws',
    token: async () => token,
    socket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => {},
  });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  const connect = async () => {
    await flush();
    const s = sockets.at(-1)!;
    s.open();
    s.frame({ type: 'authenticated', id: 'auth', user_id: 'u1' });
    return s;
  };
  return { client, sockets, timers, flush, connect, setToken: (t: string) => (token = t) };
}

const event = (channel: string, seq: number, type = 'config.set', extra: Record<string, unknown> = {}) => ({
  type: 'event',
  channel,
  seq,
  event: { id: `e${seq}`, type, resource: { type: 'config', id: 'c1' }, payload: {}, channels: [channel], ...extra },
});

describe('RealtimeClient', () => {
  it('authenticates with a first frame, then subscribes to what screens ask for', async () => {
    const { client, connect } = setup();
    const got: EventFrame[] = [];
    client.subscribe('project:p1', (e) => got.push(e));
    client.start();
    const s = await connect();
    expect(s.sent[0]).toMatchObject({ type: 'auth', token: 't1' });
    expect(s.ofType('subscribe')).toEqual([expect.objectContaining({ channel: 'project:p1' })]);
    expect(s.ofType('subscribe')[0]).not.toHaveProperty('after');
    s.frame({ type: 'subscribed', channel: 'project:p1', seq: 10 });
    s.frame(event('project:p1', 11));
    expect(got.map((e) => e.seq)).toEqual([11]);
  });

  it('says when a fresh subscription is live, not when one resumes', async () => {
    const live: string[] = [];
    const sockets: FakeSocket[] = [];
    const timers: (() => void)[] = [];
    const client = new RealtimeClient({
      url: 'ws://rt.test/ws',
      token: async () => 't',
      socket: () => (sockets.push(new FakeSocket()), sockets.at(-1)!),
      setTimer: (fn) => timers.push(fn),
      onLive: (c) => live.push(c),
    });
    client.subscribe('project:p1', () => {});
    client.start();
    const open = async () => {
      await new Promise((r) => setTimeout(r, 0));
      sockets.at(-1)!.open();
      sockets.at(-1)!.frame({ type: 'authenticated' });
      return sockets.at(-1)!;
    };
    const s1 = await open();
    s1.frame({ type: 'subscribed', channel: 'project:p1', seq: 7 });
    expect(live).toEqual(['project:p1']);
    s1.drop();
    timers.shift()!();
    const s2 = await open();
    s2.frame({ type: 'subscribed', channel: 'project:p1', seq: 9 });
    // Resumed with after=7: the replay brings what was missed, no refetch needed.
    expect(live).toEqual(['project:p1']);
  });

  it('shares a channel between screens and unsubscribes when the last one leaves', async () => {
    const { client, connect } = setup();
    client.start();
    const s = await connect();
    const a: number[] = [];
    const b: number[] = [];
    const offA = client.subscribe('admin', (e) => a.push(e.seq));
    const offB = client.subscribe('admin', (e) => b.push(e.seq));
    expect(s.ofType('subscribe')).toHaveLength(1);
    s.frame({ type: 'subscribed', channel: 'admin', seq: 1 });
    s.frame(event('admin', 2));
    offA();
    expect(s.ofType('unsubscribe')).toHaveLength(0);
    s.frame(event('admin', 3));
    offB();
    expect(s.ofType('unsubscribe')).toEqual([expect.objectContaining({ channel: 'admin' })]);
    expect(a).toEqual([2]);
    expect(b).toEqual([2, 3]);
  });

  it('delivers an event on several subscribed channels once per listener', async () => {
    const { client, connect } = setup();
    client.start();
    const s = await connect();
    const seen: number[] = [];
    const l = (e: EventFrame) => seen.push(e.seq);
    client.subscribe('project:p1', l);
    client.subscribe('user:u1', l);
    s.frame({ type: 'subscribed', channel: 'project:p1', seq: 5 });
    s.frame({ type: 'subscribed', channel: 'user:u1', seq: 5 });
    s.frame(event('project:p1', 6, 'member.added', { channels: ['project:p1', 'user:u1'] }));
    s.frame(event('project:p1', 6)); // a repeat is ignored
    expect(seen).toEqual([6]);
  });

  it('resumes every channel after a disconnect with after = the last seq seen there', async () => {
    const { client, connect, timers } = setup();
    client.subscribe('project:p1', () => {});
    client.subscribe('system', () => {});
    client.start();
    const s1 = await connect();
    s1.frame({ type: 'subscribed', channel: 'project:p1', seq: 100 });
    s1.frame({ type: 'subscribed', channel: 'system', seq: 100 });
    s1.frame(event('project:p1', 103));
    s1.drop(1006);
    expect(timers).toHaveLength(1);
    timers.shift()!();
    const s2 = await connect();
    const subs = s2.ofType('subscribe');
    expect(subs).toHaveLength(2);
    expect(subs.find((f) => f.channel === 'project:p1')?.after).toBe(103);
    // system saw nothing after 100 on its own, but the connection saw 103 in seq order.
    expect(subs.find((f) => f.channel === 'system')?.after).toBe(103);
  });

  it('keeps the resume point while a replay is still on the way', async () => {
    const { client, connect, timers } = setup();
    client.subscribe('project:p1', () => {});
    client.start();
    const s1 = await connect();
    s1.frame({ type: 'subscribed', channel: 'project:p1', seq: 50 });
    s1.drop();
    timers.shift()!();
    const s2 = await connect();
    expect(s2.ofType('subscribe')[0]?.after).toBe(50);
    // The server is at 80 and starts replaying 51..80; the link drops after 60.
    s2.frame({ type: 'subscribed', channel: 'project:p1', seq: 80 });
    s2.frame(event('project:p1', 60));
    s2.drop();
    timers.shift()!();
    const s3 = await connect();
    expect(s3.ofType('subscribe')[0]?.after).toBe(60);
  });

  it('switches credentials on the open connection when the session rotates the token', async () => {
    const { client, connect, setToken } = setup();
    client.start();
    const s = await connect();
    setToken('t2');
    await client.reauthenticate();
    expect(s.ofType('auth').map((f) => f.token)).toEqual(['t1', 't2']);
  });

  it('does not resubscribe a channel the server refused', async () => {
    const { client, connect, timers } = setup();
    client.subscribe('project:gone', () => {});
    client.start();
    const s1 = await connect();
    s1.frame({ type: 'error', code: 'not_found', channel: 'project:gone', message: 'project not found' });
    s1.drop();
    timers.shift()!();
    const s2 = await connect();
    expect(s2.ofType('subscribe')).toHaveLength(0);
  });

  it('stops for good on sign-out', async () => {
    const { client, connect, timers } = setup();
    client.start();
    const s = await connect();
    client.stop();
    expect(s.closed).toBe(1000);
    expect(timers).toHaveLength(0);
  });
});

describe('live invalidation', () => {
  const e = (type: string, rtype: string, id = 'x') => ({ id: 'e', type, resource: { type: rtype, id } });
  it('maps events to the resources they change', () => {
    expect(resourcesFor(e('config.set', 'config')).sort()).toEqual(['config-revisions', 'configs', 'events']);
    expect(resourcesFor(e('member.removed', 'member'))).toContain('projects');
    expect(resourcesFor(e('task.progress', 'task'))).toContain('tasks');
  });
  it('refetches lists and shown records, not a record open in an edit form', () => {
    const ev = e('config.set', 'config', 'c1');
    expect(isStale(['configs', 'getList', {}], ev, new Set())).toBe(true);
    expect(isStale(['configs', 'getOne', { id: 'c1' }], ev, new Set())).toBe(true);
    expect(isStale(['configs', 'getOne', { id: 'c1' }], ev, new Set(['configs:c1']))).toBe(false);
    expect(isStale(['configs', 'getManyReference', {}], ev, new Set(['configs:c1']))).toBe(true);
    expect(isStale(['users', 'getList', {}], ev, new Set())).toBe(false);
    // Who may do what follows membership changes.
    expect(isStale(['auth', 'canAccess', {}], ev, new Set())).toBe(false);
    expect(isStale(['auth', 'canAccess', {}], e('member.updated', 'member'), new Set())).toBe(true);
    expect(isStale(['auth', 'checkAuth', {}], e('member.updated', 'member'), new Set())).toBe(false);
  });
});
