// One connection to realtime-edge (realtime-edge/PROTOCOL.md) for the whole panel. Screens ask
// for channels (reference-counted); the client keeps them subscribed across reconnects, resuming
// each with `after` = the last seq it saw there, so nothing committed while the connection was
// down is missed. The token travels in the first frame (not the URL, which ends up in logs) and
// is replaced in place with an `auth` frame when the session rotates it.

export interface LiveEvent {
  id: string;
  type: string;
  actor_id?: string;
  resource?: { type: string; id: string };
  payload?: Record<string, unknown> | null;
  occurred_at?: string;
  request_id?: string;
  channels?: string[];
}

export interface EventFrame {
  channel: string;
  seq: number;
  event: LiveEvent;
}

type Listener = (e: EventFrame) => void;

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** What a WebSocket must do for this client (the browser's, or a fake in unit tests). */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface RealtimeDeps {
  url: string;
  /** A valid access token; rejects when the session is over (the client then stays closed). */
  token: () => Promise<string>;
  socket: (url: string) => SocketLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (h: unknown) => void;
  /** Reconnect delays (ms), the last one repeating. */
  backoff?: number[];
  onState?: (s: ConnectionState) => void;
  /**
   * A fresh subscription (no `after`) is live from now on. What the screen fetched before this
   * moment may already be stale — a change committed between the fetch and the subscription
   * reaches no one — so the screen should fetch again.
   */
  onLive?: (channel: string) => void;
}

interface Channel {
  listeners: Set<Listener>;
  /** Last seq seen on this channel (or the subscribe point); null: never subscribed yet. */
  cursor: number | null;
  /** Subscribed on the current connection. */
  active: boolean;
  /** Refused or ended by the server (not_found, forbidden): not retried until asked again. */
  refused: string | null;
}

export class RealtimeClient {
  private channels = new Map<string, Channel>();
  private ws: SocketLike | null = null;
  private authenticated = false;
  private attempt = 0;
  private timer: unknown = null;
  private stopped = true;
  private nextId = 1;
  /** Highest seq received on the current connection. */
  private lastSeq = 0;

  constructor(private readonly deps: RealtimeDeps) {}

  /** Listens to `channel` until the returned function is called. */
  subscribe(channel: string, listener: Listener): () => void {
    let ch = this.channels.get(channel);
    if (!ch) {
      ch = { listeners: new Set(), cursor: null, active: false, refused: null };
      this.channels.set(channel, ch);
    }
    ch.listeners.add(listener);
    if (ch.listeners.size === 1 && this.authenticated && !ch.active) this.sendSubscribe(channel, ch);
    return () => {
      const c = this.channels.get(channel);
      if (!c) return;
      c.listeners.delete(listener);
      if (c.listeners.size === 0) {
        this.channels.delete(channel);
        if (c.active && this.authenticated) this.send({ type: 'unsubscribe', channel });
      }
    };
  }

  /** Channels currently subscribed on the connection (for tests and diagnostics). */
  activeChannels(): string[] {
    return [...this.channels.entries()].filter(([, c]) => c.active).map(([name]) => name);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.authenticated = false;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000, 'signed out');
    }
    this.deps.onState?.('closed');
  }

  /** The session rotated its access token: keep the connection, switch credentials. */
  async reauthenticate(): Promise<void> {
    if (!this.ws || !this.authenticated) return;
    try {
      this.send({ type: 'auth', token: await this.deps.token() });
    } catch {
      this.stop();
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) (this.deps.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)))(this.timer);
    this.timer = null;
  }

  private send(frame: Record<string, unknown>): void {
    this.ws?.send(JSON.stringify({ id: String(this.nextId++), ...frame }));
  }

  private sendSubscribe(channel: string, ch: Channel): void {
    ch.active = true;
    ch.refused = null;
    this.send(ch.cursor === null ? { type: 'subscribe', channel } : { type: 'subscribe', channel, after: ch.cursor });
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let token: string;
    try {
      token = await this.deps.token();
    } catch {
      // No session: nothing to connect for. The app restarts us after the next sign-in.
      this.stop();
      return;
    }
    if (this.stopped) return;
    this.deps.onState?.('connecting');
    const ws = this.deps.socket(this.deps.url);
    this.ws = ws;
    this.authenticated = false;
    this.lastSeq = 0;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', id: 'auth', token }));
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.authenticated = false;
      for (const ch of this.channels.values()) ch.active = false;
      this.deps.onState?.('closed');
      if (this.stopped) return;
      // 1008: the token was refused; token() refreshes or tells us the session is over.
      const delays = this.deps.backoff ?? [250, 1000, 2000, 5000, 10000];
      const delay = delays[Math.min(this.attempt, delays.length - 1)] ?? 10000;
      this.attempt++;
      this.timer = (this.deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms)))(() => {
        this.timer = null;
        void this.connect();
      }, ev.code === 1008 ? 0 : delay);
    };
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let f: Record<string, any>;
    try {
      f = JSON.parse(data) as Record<string, any>;
    } catch {
      return;
    }
    switch (f.type) {
      case 'authenticated':
        if (!this.authenticated) {
          this.authenticated = true;
          this.attempt = 0;
          this.deps.onState?.('open');
          // All at once, right after authenticated: the edge then replays them in one order.
          for (const [name, ch] of this.channels) if (!ch.refused) this.sendSubscribe(name, ch);
        }
        break;
      case 'subscribed': {
        const ch = this.channels.get(f.channel);
        // A fresh subscription starts at the server's latest seq. A resumed one keeps its `after`:
        // its replay is still on the way, and a disconnect now must not skip it.
        if (ch && ch.cursor === null && typeof f.seq === 'number') {
          ch.cursor = f.seq;
          this.deps.onLive?.(f.channel);
        }
        break;
      }
      case 'event': {
        const frame = f as unknown as EventFrame;
        if (typeof frame.seq !== 'number' || frame.seq <= this.lastSeq) break;
        this.lastSeq = frame.seq;
        const names = new Set([frame.channel, ...(frame.event?.channels ?? [])]);
        const notified = new Set<Listener>();
        for (const [name, ch] of this.channels) {
          if (!ch.active) continue;
          // Events reach us in seq order across every channel of the connection, so each active
          // channel whose start is known has seen everything up to this seq.
          if (ch.cursor !== null) ch.cursor = Math.max(ch.cursor, frame.seq);
          if (!names.has(name)) continue;
          for (const l of ch.listeners) {
            if (notified.has(l)) continue;
            notified.add(l);
            l(frame);
          }
        }
        break;
      }
      case 'error': {
        if (typeof f.channel === 'string') {
          const ch = this.channels.get(f.channel);
          if (ch) {
            ch.active = false;
            ch.refused = String(f.code ?? 'error');
          }
        }
        break;
      }
      default:
        break;
    }
  }
}
