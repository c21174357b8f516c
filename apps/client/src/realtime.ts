// The client of realtime-edge's WebSocket protocol (realtime-edge/PROTOCOL.md): one connection,
// any number of channels, each delivered exactly once and in seq order across disconnects.
//
// - Each channel remembers the last seq it delivered (its cursor). After any disconnect — network,
//   server restart (1001), slow consumer (1013), expired token (1008) — the client reconnects with
//   exponential backoff and jitter and resubscribes every channel at once with `after` = its
//   cursor, so the edge replays exactly what was missed, in one seq order. An event at or below a
//   channel's cursor is never delivered again.
// - The token goes in the first frame (not the URL, which ends up in logs), and each rotation of
//   the session's token is sent as an `auth` frame, so the server does not close the socket when
//   the old token expires.
// - Error frames are typed (`RealtimeError`); a resume point older than the retained log is an
//   `OutOfRangeError` (with `oldestSeq`): the app reloads what the events would have built and
//   calls `restart(channel)`.
import { hostTimers, hostWebSocket, type Timers, type WebSocketCtor, type WebSocketLike } from './platform.ts';

export interface RealtimeEvent {
  id: string;
  type: string;
  actor_id?: string;
  resource?: { type: string; id: string };
  payload?: unknown;
  occurred_at?: string;
  request_id?: string;
  channels?: string[];
}

export interface EventMessage {
  /** The channel the server delivered it on (one of the event's channels this connection has). */
  channel: string;
  seq: number;
  event: RealtimeEvent;
}

export type RealtimeErrorCode =
  | 'bad_request'
  | 'out_of_range'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'unavailable';

/** An error frame, or the end of the session, as a value. */
export class RealtimeError extends Error {
  override readonly name: string = 'RealtimeError';
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
    readonly channel?: string,
  ) {
    super(message);
  }

  /** The subscription ended because the caller may not (or no longer) see the channel. */
  get accessLost(): boolean {
    return this.code === 'not_found' || this.code === 'forbidden';
  }
}

/** The resume point is older than the log the server keeps: reload, then `restart(channel)`. */
export class OutOfRangeError extends RealtimeError {
  override readonly name = 'OutOfRangeError';
  constructor(
    message: string,
    channel: string,
    readonly oldestSeq: number,
  ) {
    super('out_of_range', message, channel);
  }
}

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ChannelHandlers {
  onEvent(message: EventMessage): void;
  /** The subscription was refused or ended (access lost, out of range, session over). */
  onError?(error: RealtimeError): void;
  /**
   * The server confirmed the subscription. `resumed: false` means it starts now (at `seq`): what
   * the app loaded before may miss a change committed just before, so it should load again.
   */
  onSubscribed?(info: { seq: number; resumed: boolean }): void;
}

export interface RealtimeAuth {
  /** A valid access token; `fresh: true` asks for a new one (the server refused the last). */
  token(opts?: { fresh?: boolean }): Promise<string>;
  /** Tells the client when the session has new tokens (it then sends an `auth` frame). */
  onTokenChange?(listener: () => void): () => void;
}

export interface RealtimeOptions {
  /** realtime-edge's `ws(s)://…/ws` URL. */
  url: string;
  auth: RealtimeAuth;
  /** Default: the global WebSocket (browsers, React Native); on Node pass `ws`'s. */
  WebSocket?: WebSocketCtor;
  timers?: Timers;
  random?: () => number;
  /** Reconnect delays: the nth attempt waits between half and all of min(maxMs, initialMs·2ⁿ). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** The client pings this often and drops a connection that has not answered within `pongTimeoutMs`. */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
}

interface Channel {
  name: string;
  handlers: Set<ChannelHandlers>;
  /** Last seq delivered on this channel, or where it started; null: start fresh. */
  cursor: number | null;
  /** 'pending': to be (re)subscribed; 'sent': awaiting `subscribed`; 'active'; 'failed': refused, not retried. */
  state: 'pending' | 'sent' | 'active' | 'failed';
  retryTimer: unknown;
}

interface Frame {
  type?: string;
  id?: string;
  channel?: string;
  seq?: number;
  code?: string;
  message?: string;
  oldest_seq?: number | string;
  event?: RealtimeEvent;
  user_id?: string;
}

const CODES = new Set<string>(['bad_request', 'out_of_range', 'unauthenticated', 'forbidden', 'not_found', 'rate_limited', 'unavailable']);

export class RealtimeClient {
  private readonly channels = new Map<string, Channel>();
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly WS: () => WebSocketCtor;
  private ws: WebSocketLike | null = null;
  private authenticated = false;
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private pongTimer: unknown = null;
  private nextId = 1;
  private needFreshToken = false;
  private status: ConnectionStatus = 'idle';
  private readonly statusListeners = new Set<(s: ConnectionStatus) => void>();
  private readonly errorListeners = new Set<(e: RealtimeError) => void>();
  private unwatchToken: (() => void) | null = null;
  /** Counters for tests and diagnostics. */
  readonly stats = { connects: 0, duplicatesDropped: 0, delivered: 0 };

  constructor(private readonly opts: RealtimeOptions) {
    this.timers = opts.timers ?? hostTimers;
    this.random = opts.random ?? Math.random;
    this.WS = () => opts.WebSocket ?? hostWebSocket();
  }

  /** Starts (or restarts after `stop`) connecting. Channels may be added before or after. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.unwatchToken = this.opts.auth.onTokenChange?.(() => void this.reauthenticate()) ?? null;
    void this.connect();
  }

  /** Closes the connection; channels are kept (with their cursors) for a later `start`. */
  stop(): void {
    this.stopped = true;
    this.unwatchToken?.();
    this.unwatchToken = null;
    this.clear('reconnectTimer');
    this.stopHeartbeat();
    for (const ch of this.channels.values()) this.clearRetry(ch);
    const ws = this.ws;
    this.detach();
    ws?.close(1000, 'client stopped');
    this.setStatus('closed');
  }

  get connectionStatus(): ConnectionStatus {
    return this.status;
  }

  onStatus(listener: (s: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => void this.statusListeners.delete(listener);
  }

  /** Errors that concern the connection rather than one channel (e.g. the session ended). */
  onError(listener: (e: RealtimeError) => void): () => void {
    this.errorListeners.add(listener);
    return () => void this.errorListeners.delete(listener);
  }

  /**
   * Delivers the events of `channel` to `handlers` until the returned function is called.
   * `after`: deliver every event after this seq first (only for the channel's first subscriber).
   */
  subscribe(channel: string, handlers: ChannelHandlers, opts: { after?: number } = {}): () => void {
    let ch = this.channels.get(channel);
    if (!ch) {
      ch = { name: channel, handlers: new Set(), cursor: opts.after ?? null, state: 'pending', retryTimer: null };
      this.channels.set(channel, ch);
    }
    ch.handlers.add(handlers);
    if (ch.state === 'pending' && this.authenticated) this.sendSubscribe(ch);
    return () => {
      const c = this.channels.get(channel);
      if (!c || !c.handlers.delete(handlers) || c.handlers.size > 0) return;
      this.channels.delete(channel);
      this.clearRetry(c);
      if (this.authenticated && (c.state === 'active' || c.state === 'sent')) this.send({ type: 'unsubscribe', channel });
    };
  }

  /** The last seq delivered on `channel` (or where its subscription started). */
  cursor(channel: string): number | null {
    return this.channels.get(channel)?.cursor ?? null;
  }

  /**
   * Subscribes a refused or out-of-range channel again: from `after`, or fresh (from now) when
   * omitted — after the app has reloaded what the events would have told it.
   */
  restart(channel: string, after?: number): void {
    const ch = this.channels.get(channel);
    if (!ch) return;
    this.clearRetry(ch);
    if (this.authenticated && (ch.state === 'active' || ch.state === 'sent')) this.send({ type: 'unsubscribe', channel });
    ch.cursor = after ?? null;
    ch.state = 'pending';
    if (this.authenticated) this.sendSubscribe(ch);
  }

  /** Sends the session's current token in an `auth` frame (called on each rotation). */
  async reauthenticate(): Promise<void> {
    if (!this.ws || !this.authenticated) return;
    const ws = this.ws;
    let token: string;
    try {
      token = await this.opts.auth.token();
    } catch (e) {
      this.sessionOver(e);
      return;
    }
    if (this.ws === ws && this.authenticated) this.send({ type: 'auth', token });
  }

  // --- connection -------------------------------------------------------------------------

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setStatus(this.stats.connects === 0 ? 'connecting' : 'reconnecting');
    let token: string;
    try {
      token = await this.opts.auth.token({ fresh: this.needFreshToken });
    } catch (e) {
      if (isSessionOver(e)) {
        this.sessionOver(e);
      } else {
        this.scheduleReconnect();
      }
      return;
    }
    this.needFreshToken = false;
    if (this.stopped) return;
    let ws: WebSocketLike;
    try {
      ws = new (this.WS())(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.stats.connects++;
    this.ws = ws;
    this.authenticated = false;
    ws.onopen = () => {
      if (this.ws === ws) ws.send(JSON.stringify({ type: 'auth', id: 'auth', token }));
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onFrame(ev.data);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) this.lost(ev.code);
    };
  }

  /** The connection is gone (closed by either side, or silent): reconnect unless stopped. */
  private lost(code: number): void {
    this.detach();
    if (this.stopped) return;
    // 1008: the server refused or stopped accepting our token (expired, revoked): ask for a new one.
    if (code === 1008) this.needFreshToken = true;
    this.scheduleReconnect();
  }

  private detach(): void {
    const ws = this.ws;
    this.ws = null;
    this.authenticated = false;
    this.stopHeartbeat();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    }
    for (const ch of this.channels.values()) {
      this.clearRetry(ch);
      if (ch.state !== 'failed') ch.state = 'pending';
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setStatus('reconnecting');
    const initial = this.opts.backoff?.initialMs ?? 500;
    const max = this.opts.backoff?.maxMs ?? 15_000;
    const ceiling = Math.min(max, initial * 2 ** Math.min(this.attempt, 20));
    // Equal jitter: never less than half the step (so the backoff grows), never in lock-step
    // with the other clients that lost the same server.
    const delay = this.needFreshToken && this.attempt === 0 ? 0 : ceiling / 2 + this.random() * (ceiling / 2);
    this.attempt++;
    this.clear('reconnectTimer');
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private sessionOver(e: unknown): void {
    const err = new RealtimeError('unauthenticated', e instanceof Error ? e.message : 'the session is over');
    this.stop();
    for (const l of [...this.errorListeners]) l(err);
  }

  private setStatus(s: ConnectionStatus): void {
    if (s === this.status) return;
    this.status = s;
    for (const l of [...this.statusListeners]) l(s);
  }

  private send(frame: Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ id: String(this.nextId++), ...frame }));
  }

  private sendSubscribe(ch: Channel): void {
    ch.state = 'sent';
    this.send(ch.cursor === null ? { type: 'subscribe', channel: ch.name } : { type: 'subscribe', channel: ch.name, after: ch.cursor });
  }

  private clear(which: 'reconnectTimer' | 'pingTimer' | 'pongTimer'): void {
    const h = this[which];
    if (h !== null) this.timers.clearTimeout(h);
    this[which] = null;
  }

  private clearRetry(ch: Channel): void {
    if (ch.retryTimer !== null) this.timers.clearTimeout(ch.retryTimer);
    ch.retryTimer = null;
  }

  // A silent network (a laptop's lid, a dead NAT entry) gives no close event: ping, and treat a
  // connection that stays silent as lost.
  private startHeartbeat(): void {
    const every = this.opts.pingIntervalMs ?? 20_000;
    if (every <= 0) return;
    this.clear('pingTimer');
    this.pingTimer = this.timers.setTimeout(() => {
      this.pingTimer = null;
      this.send({ type: 'ping' });
      this.clear('pongTimer');
      this.pongTimer = this.timers.setTimeout(() => {
        this.pongTimer = null;
        const ws = this.ws;
        this.lost(1006);
        ws?.close(4000, 'no answer to ping');
      }, this.opts.pongTimeoutMs ?? 10_000);
    }, every);
  }

  private stopHeartbeat(): void {
    this.clear('pingTimer');
    this.clear('pongTimer');
  }

  // --- frames -----------------------------------------------------------------------------

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let f: Frame;
    try {
      f = JSON.parse(data) as Frame;
    } catch {
      return;
    }
    // Any frame proves the connection alive.
    this.clear('pongTimer');
    if (this.authenticated) this.startHeartbeat();
    switch (f.type) {
      case 'authenticated':
        if (!this.authenticated) {
          this.authenticated = true;
          this.attempt = 0;
          this.setStatus('open');
          this.startHeartbeat();
          // All at once, right after `authenticated`: the edge then replays them in one order.
          for (const ch of this.channels.values()) if (ch.state === 'pending') this.sendSubscribe(ch);
        }
        break;
      case 'subscribed':
        this.onSubscribed(f);
        break;
      case 'event':
        this.onEvent(f);
        break;
      case 'error':
        this.onErrorFrame(f);
        break;
      default:
        break;
    }
  }

  private onSubscribed(f: Frame): void {
    const ch = f.channel ? this.channels.get(f.channel) : undefined;
    if (!ch || ch.state !== 'sent' || typeof f.seq !== 'number') return;
    ch.state = 'active';
    const resumed = ch.cursor !== null;
    // A fresh subscription starts at the server's latest seq. A resumed one keeps its cursor:
    // its replay is still on the way, and a disconnect now must not skip it.
    if (!resumed) ch.cursor = f.seq;
    for (const h of [...ch.handlers]) h.onSubscribed?.({ seq: f.seq, resumed });
  }

  private onEvent(f: Frame): void {
    if (typeof f.seq !== 'number' || !f.event || typeof f.channel !== 'string') return;
    const message: EventMessage = { channel: f.channel, seq: f.seq, event: f.event };
    const names = new Set([f.channel, ...(f.event.channels ?? [])]);
    const targets = new Set<ChannelHandlers>();
    let fresh = false;
    for (const name of names) {
      const ch = this.channels.get(name);
      if (!ch || ch.state === 'failed') continue;
      if (ch.cursor !== null && f.seq <= ch.cursor) continue;
      ch.cursor = f.seq;
      fresh = true;
      for (const h of ch.handlers) targets.add(h);
    }
    if (!fresh) {
      this.stats.duplicatesDropped++;
      return;
    }
    this.stats.delivered++;
    for (const h of targets) h.onEvent(message);
  }

  private onErrorFrame(f: Frame): void {
    const code = (CODES.has(f.code ?? '') ? f.code : 'bad_request') as RealtimeErrorCode;
    const message = f.message ?? code;
    const ch = f.channel ? this.channels.get(f.channel) : undefined;
    if (!ch) {
      // A refused `auth` refresh keeps the connection on its current token until it expires; the
      // server then closes with 1008 and we reconnect with a fresh one.
      const err = new RealtimeError(code, message, f.channel);
      for (const l of [...this.errorListeners]) l(err);
      return;
    }
    if (code === 'unavailable' || code === 'rate_limited') {
      // Passing: subscribe again (from the cursor) a little later.
      ch.state = 'pending';
      this.clearRetry(ch);
      ch.retryTimer = this.timers.setTimeout(() => {
        ch.retryTimer = null;
        if (this.authenticated && ch.state === 'pending' && this.channels.get(ch.name) === ch) this.sendSubscribe(ch);
      }, code === 'rate_limited' ? 2_000 : 1_000);
      return;
    }
    if (code === 'unauthenticated') {
      // The session behind our token ended (logout, password change, reuse), or the token ran
      // out: a fresh token either brings the channel back (from its cursor) or ends the session.
      ch.state = 'pending';
      this.needFreshToken = true;
      void this.renewAndResubscribe();
      return;
    }
    ch.state = 'failed';
    const err =
      code === 'out_of_range'
        ? new OutOfRangeError(message, ch.name, Number(f.oldest_seq ?? 0))
        : new RealtimeError(code, message, ch.name);
    for (const h of [...ch.handlers]) h.onError?.(err);
  }

  private renewing = false;

  private async renewAndResubscribe(): Promise<void> {
    // Every channel of the connection gets its own error frame: renew once.
    if (this.renewing) return;
    this.renewing = true;
    const ws = this.ws;
    try {
      await this.opts.auth.token({ fresh: true });
    } catch (e) {
      if (isSessionOver(e)) this.sessionOver(e);
      else if (ws && this.ws === ws) this.lost(1006);
      return;
    } finally {
      this.renewing = false;
    }
    this.needFreshToken = false;
    if (!ws || this.ws !== ws) return;
    // A new connection with the new token resubscribes every channel from its cursor.
    this.lost(1000);
    ws.close(1000, 'new credentials');
  }
}

/** An error meaning there is no session any more (as the Session throws it). */
function isSessionOver(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'UNAUTHENTICATED';
}
