// An in-memory Platform SM for component tests: graphql-edge's operations as the app sends them
// (by operation name, over the fetch the app is given) and realtime-edge's WebSocket protocol
// (FakeWebSocket), both over one store, so a write made "by someone else" changes what the next
// query reads and sends an event to subscribed sockets, with seqs and `after` replay like the
// real edge. Failures and slow answers are scripted per operation.
import type { FetchLike, WebSocketLike } from '@platform-sm/client';

type Role = 'OWNER' | 'EDITOR' | 'VIEWER';

export interface FakeUser {
  id: string;
  email: string;
  name: string;
  password: string;
  role: 'ADMIN' | 'USER';
}

interface FakeConfig {
  id: string;
  projectId: string;
  key: string;
  value: unknown;
  description: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
  deletedAt: string | null;
  history: Array<{ id: string; version: number; value: unknown; description: string; op: 'SET' | 'DELETE' | 'ROLLBACK'; authorId: string; createdAt: string }>;
}

interface FakeProject {
  id: string;
  slug: string;
  name: string;
  description: string;
  status: 'ACTIVE' | 'ARCHIVED';
  version: number;
  ownerId: string;
  members: Array<{ id: string; userId: string; role: Role; version: number }>;
  configs: FakeConfig[];
}

export interface LoggedEvent {
  seq: number;
  channels: string[];
  event: { id: string; type: string; actor_id: string; payload: unknown; request_id?: string; channels: string[] };
}

/** What a scripted failure looks like on the wire. */
export type Failure = { kind: 'network' } | { kind: 'http'; status: number } | { kind: 'graphql'; code: string; message: string; reason?: string };

const NOW = '2026-05-01T10:00:00Z';

function gqlError(code: string, message: string, reason?: string) {
  return { errors: [{ message, extensions: { code, ...(reason ? { reason } : {}) } }], data: null };
}

export class FakePlatform {
  readonly users: FakeUser[] = [];
  readonly projects: FakeProject[] = [];
  readonly log: LoggedEvent[] = [];
  /** Every GraphQL operation received, in order. */
  readonly operations: Array<{ name: string; variables: Record<string, unknown>; token: string | null }> = [];
  readonly sockets: FakeSocket[] = [];
  private ids = 0;
  private failures = new Map<string, Failure[]>();
  private holds = new Map<string, Array<() => void>>();
  private held = new Set<string>();
  private tokens = new Map<string, string>(); // access token → user id
  private refreshTokens = new Map<string, string>();

  id(prefix: string): string {
    return `${prefix}-${++this.ids}`;
  }

  addUser(name: string, opts: { role?: 'ADMIN' | 'USER' } = {}): FakeUser {
    const first = name.split(' ')[0]!.toLowerCase();
    const u: FakeUser = { id: this.id('user'), email: `${first}@example.test`, name, password: `${first}-password`, role: opts.role ?? 'USER' };
    this.users.push(u);
    return u;
  }

  addProject(name: string, owner: FakeUser, members: Array<[FakeUser, Role]> = []): FakeProject {
    const p: FakeProject = {
      id: this.id('project'),
      slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      name,
      description: '',
      status: 'ACTIVE',
      version: 1,
      ownerId: owner.id,
      members: [{ id: this.id('member'), userId: owner.id, role: 'OWNER', version: 1 }],
      configs: [],
    };
    for (const [u, role] of members) p.members.push({ id: this.id('member'), userId: u.id, role, version: 1 });
    this.projects.push(p);
    return p;
  }

  /** A config written by `by` (someone else, or the scene's set-up): an event follows. */
  setConfig(project: FakeProject, key: string, value: unknown, by: FakeUser, requestId?: string): FakeConfig {
    let c = project.configs.find((x) => x.key === key);
    if (!c) {
      c = { id: this.id('config'), projectId: project.id, key, value, description: '', version: 0, updatedAt: NOW, updatedBy: by.id, deletedAt: null, history: [] };
      project.configs.push(c);
    }
    c.version += 1;
    c.value = value;
    c.updatedBy = by.id;
    c.deletedAt = null;
    c.history.unshift({ id: this.id('rev'), version: c.version, value, description: c.description, op: 'SET', authorId: by.id, createdAt: NOW });
    this.emit([`project:${project.id}`], 'config.set', by.id, { key, value, version: c.version, description: c.description, updated_by: by.id, updated_at: NOW }, requestId);
    return c;
  }

  config(project: FakeProject, key: string): FakeConfig | undefined {
    return project.configs.find((c) => c.key === key);
  }

  /** The next `count` calls of `operation` fail this way. */
  fail(operation: string, failure: Failure, count = 1): void {
    const list = this.failures.get(operation) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.failures.set(operation, list);
  }

  /** Ends the failures scripted for `operation`. */
  recover(operation: string): void {
    this.failures.delete(operation);
  }

  /** Answers of `operation` wait until release(operation). */
  hold(operation: string): void {
    this.held.add(operation);
  }

  release(operation: string): void {
    this.held.delete(operation);
    for (const go of this.holds.get(operation) ?? []) go();
    this.holds.delete(operation);
  }

  // --- realtime ---------------------------------------------------------------------------

  emit(channels: string[], type: string, actor: string, payload: unknown, requestId?: string): LoggedEvent {
    const e: LoggedEvent = {
      seq: this.log.length + 1,
      channels,
      event: { id: this.id('event'), type, actor_id: actor, payload, ...(requestId ? { request_id: requestId } : {}), channels },
    };
    this.log.push(e);
    for (const s of this.sockets) s.deliver(e);
    return e;
  }

  /** The class the app's RealtimeClient constructs. */
  get WebSocket(): new (url: string) => WebSocketLike {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const platform = this;
    return class extends FakeSocket {
      constructor(url: string) {
        super(platform, url);
        platform.sockets.push(this);
      }
    };
  }

  /** Sockets the app still has open. */
  get openSockets(): FakeSocket[] {
    return this.sockets.filter((s) => s.readyState === 1);
  }

  userOfToken(token: string): FakeUser | undefined {
    const id = this.tokens.get(token);
    return this.users.find((u) => u.id === id);
  }

  // --- GraphQL ----------------------------------------------------------------------------

  readonly fetch: FetchLike = async (_url, init) => {
    const body = JSON.parse(init.body ?? '{}') as { operationName?: string; variables?: Record<string, unknown> };
    const name = body.operationName ?? '';
    const auth = init.headers.authorization ?? init.headers.Authorization ?? null;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : null;
    const requestId = init.headers['x-request-id'];
    this.operations.push({ name, variables: body.variables ?? {}, token });
    if (this.held.has(name)) await new Promise<void>((go) => this.holds.set(name, [...(this.holds.get(name) ?? []), go]));
    const failure = this.failures.get(name)?.shift();
    if (failure?.kind === 'network') throw new TypeError('Network request failed');
    // A proxy's error page, not GraphQL.
    if (failure?.kind === 'http') return respond(failure.status, `HTTP ${failure.status}`, 'text/plain');
    if (failure?.kind === 'graphql') return respond(200, gqlError(failure.code, failure.message, failure.reason));
    return respond(200, this.answer(name, body.variables ?? {}, token, requestId));
  };

  private answer(name: string, v: Record<string, unknown>, token: string | null, requestId: string | undefined): unknown {
    if (name === 'Login') {
      const u = this.users.find((x) => x.email === v.email && x.password === v.password);
      if (!u) return gqlError('UNAUTHENTICATED', 'invalid email or password', 'INVALID_CREDENTIALS');
      return { data: { login: this.issue(u) } };
    }
    if (name === 'RefreshToken') {
      const uid = this.refreshTokens.get(String(v.refreshToken));
      const u = this.users.find((x) => x.id === uid);
      if (!u) return gqlError('UNAUTHENTICATED', 'refresh token not valid', 'INVALID_REFRESH_TOKEN');
      this.refreshTokens.delete(String(v.refreshToken));
      return { data: { refreshToken: this.issue(u) } };
    }
    if (name === 'Logout') {
      this.refreshTokens.delete(String(v.refreshToken));
      return { data: { logout: true } };
    }
    const me = token ? this.userOfToken(token) : undefined;
    if (!me) return gqlError('UNAUTHENTICATED', 'not signed in');
    const visible = (p: FakeProject) => me.role === 'ADMIN' || p.members.some((m) => m.userId === me.id);
    const project = (id: unknown) => this.projects.find((p) => p.id === id && visible(p));
    const roleOf = (p: FakeProject) => p.members.find((m) => m.userId === me.id)?.role ?? null;
    switch (name) {
      case 'Projects': {
        const search = ((v.filter as { search?: string } | undefined)?.search ?? '').toLowerCase();
        const nodes = this.projects.filter(visible).filter((p) => !search || p.name.toLowerCase().includes(search) || p.slug.includes(search));
        nodes.sort((a, b) => a.name.localeCompare(b.name));
        return { data: { projects: { __typename: 'ProjectConnection', totalCount: nodes.length, pageInfo: pageInfo(), nodes: nodes.map((p) => this.summary(p, roleOf(p))) } } };
      }
      case 'Project': {
        const p = project(v.id);
        if (!p) return gqlError('NOT_FOUND', 'project not found');
        return { data: { project: this.summary(p, roleOf(p)) } };
      }
      case 'Configs': {
        const p = project(v.projectId);
        if (!p) return gqlError('NOT_FOUND', 'project not found');
        const nodes = p.configs.filter((c) => !c.deletedAt);
        return { data: { project: { __typename: 'Project', id: p.id, configs: { __typename: 'ConfigConnection', totalCount: nodes.length, pageInfo: pageInfo(), nodes: nodes.map(configFields) } } } };
      }
      case 'Config': {
        const p = project(v.projectId);
        const c = p?.configs.find((x) => x.key === v.key);
        if (!p || !c) return gqlError('NOT_FOUND', 'config not found');
        return { data: { project: { __typename: 'Project', id: p.id, config: configFields(c) } } };
      }
      case 'ConfigHistory': {
        const p = project(v.projectId);
        const c = p?.configs.find((x) => x.key === v.key);
        if (!p || !c) return gqlError('NOT_FOUND', 'config not found');
        const nodes = c.history.slice(0, Number(v.first ?? 20)).map((r) => ({ __typename: 'ConfigRevision', ...r }));
        return {
          data: { project: { __typename: 'Project', id: p.id, config: { ...configFields(c), history: { __typename: 'ConfigRevisionConnection', totalCount: c.history.length, pageInfo: pageInfo(), nodes } } } },
        };
      }
      case 'Members': {
        const p = project(v.projectId);
        if (!p) return gqlError('NOT_FOUND', 'project not found');
        const nodes = p.members.map((m) => {
          const u = this.users.find((x) => x.id === m.userId)!;
          return { __typename: 'Member', id: m.id, projectId: p.id, userId: m.userId, role: m.role, version: m.version, createdAt: NOW, user: { __typename: 'User', id: u.id, name: u.name, email: u.email } };
        });
        return { data: { project: { __typename: 'Project', id: p.id, members: { __typename: 'MemberConnection', totalCount: nodes.length, pageInfo: pageInfo(), nodes } } } };
      }
      case 'SetConfig': {
        const p = project(v.projectId);
        if (!p) return gqlError('NOT_FOUND', 'project not found');
        const role = roleOf(p);
        if (role !== 'OWNER' && role !== 'EDITOR') return gqlError('FORBIDDEN', 'editors and owners only');
        const current = p.configs.find((c) => c.key === v.key && !c.deletedAt);
        if (typeof v.expectedVersion === 'number' && v.expectedVersion !== (current?.version ?? 0)) {
          return gqlError('CONFLICT', 'the config was changed meanwhile', 'VERSION_MISMATCH');
        }
        const c = this.setConfig(p, String(v.key), v.value, me, requestId);
        return { data: { setConfig: configFields(c) } };
      }
      case 'AddMember':
      case 'UpdateMember':
      case 'RemoveMember': {
        const p = name === 'AddMember' ? project(v.projectId) : this.projects.find((x) => x.members.some((m) => m.id === v.id) && visible(x));
        if (!p) return gqlError('NOT_FOUND', 'project not found');
        if (roleOf(p) !== 'OWNER') return gqlError('FORBIDDEN', 'owners only');
        let m = p.members.find((x) => x.id === v.id);
        if (name === 'AddMember') {
          const u = this.users.find((x) => x.email === v.email);
          if (!u) return gqlError('NOT_FOUND', 'user not found');
          if (p.members.some((x) => x.userId === u.id)) return gqlError('CONFLICT', 'already a member', 'ALREADY_EXISTS');
          m = { id: this.id('member'), userId: u.id, role: v.role as Role, version: 1 };
          p.members.push(m);
        } else {
          if (!m) return gqlError('NOT_FOUND', 'member not found');
          if (typeof v.expectedVersion === 'number' && v.expectedVersion !== m.version) return gqlError('CONFLICT', 'changed meanwhile', 'VERSION_MISMATCH');
          if (name === 'UpdateMember') {
            m.role = v.role as Role;
            m.version += 1;
          } else {
            p.members.splice(p.members.indexOf(m), 1);
          }
        }
        const type = name === 'AddMember' ? 'member.added' : name === 'UpdateMember' ? 'member.updated' : 'member.removed';
        this.emit([`project:${p.id}`, `user:${m.userId}`], type, me.id, { user_id: m.userId, role: m.role }, requestId);
        const u = this.users.find((x) => x.id === m!.userId)!;
        const field = name === 'AddMember' ? 'addMember' : name === 'UpdateMember' ? 'updateMember' : 'removeMember';
        return { data: { [field]: { __typename: 'Member', id: m.id, projectId: p.id, userId: m.userId, role: m.role, version: m.version, createdAt: NOW, user: { __typename: 'User', id: u.id, name: u.name, email: u.email } } } };
      }
      default:
        return gqlError('BAD_USER_INPUT', `the fake platform has no operation ${name}`);
    }
  }

  private issue(u: FakeUser) {
    const accessToken = this.id('access');
    const refreshToken = this.id('refresh');
    this.tokens.set(accessToken, u.id);
    this.refreshTokens.set(refreshToken, u.id);
    return {
      __typename: 'AuthPayload',
      accessToken,
      accessTokenExpiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
      refreshToken,
      refreshTokenExpiresAt: null,
      user: { __typename: 'User', id: u.id, email: u.email, name: u.name, role: u.role },
    };
  }

  private summary(p: FakeProject, myRole: Role | null) {
    const owner = this.users.find((u) => u.id === p.ownerId)!;
    return {
      __typename: 'Project',
      id: p.id,
      slug: p.slug,
      name: p.name,
      description: p.description,
      status: p.status,
      myRole,
      version: p.version,
      createdAt: NOW,
      updatedAt: NOW,
      owner: { __typename: 'User', id: owner.id, name: owner.name },
    };
  }
}

function pageInfo() {
  return { __typename: 'PageInfo', hasNextPage: false, endCursor: null };
}

function configFields(c: FakeConfig) {
  const { history: _h, ...fields } = c;
  return { __typename: 'ConfigEntry', ...fields };
}

function respond(status: number, body: unknown, contentType = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (n: string) => (n.toLowerCase() === 'content-type' ? contentType : null) },
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
  } as unknown as Awaited<ReturnType<FetchLike>>;
}

/** realtime-edge's side of one connection (realtime-edge/PROTOCOL.md), answering at once. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** Frames the app sent, parsed. */
  readonly sent: Array<Record<string, unknown>> = [];
  private user: FakeUser | undefined;
  private stalled = false;
  private readonly channels = new Set<string>();

  constructor(
    private readonly platform: FakePlatform,
    readonly url: string,
  ) {
    queueMicrotask(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    const f = JSON.parse(data) as Record<string, unknown>;
    this.sent.push(f);
    queueMicrotask(() => this.answer(f));
  }

  close(code = 1000, reason?: string): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  /** The connection stalls: events are no longer delivered (nor is it closed). */
  stall(): void {
    this.stalled = true;
  }

  /** The server drops the connection (network loss, restart). */
  drop(code = 1006): void {
    this.close(code, 'dropped');
  }

  /** The subscribe frames the app sent, with their `after`. */
  get subscribes(): Array<{ channel: string; after?: number }> {
    return this.sent.filter((f) => f.type === 'subscribe').map((f) => ({ channel: String(f.channel), ...(f.after !== undefined ? { after: Number(f.after) } : {}) }));
  }

  deliver(e: LoggedEvent): void {
    if (this.readyState !== 1 || !this.user || this.stalled) return;
    const channel = e.channels.find((c) => this.channels.has(c));
    if (channel) this.push({ type: 'event', channel, seq: e.seq, event: e.event });
  }

  private push(frame: Record<string, unknown>): void {
    if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(frame) });
  }

  private answer(f: Record<string, unknown>): void {
    if (this.readyState !== 1) return;
    if (f.type === 'auth') {
      this.user = this.platform.userOfToken(String(f.token));
      if (!this.user) {
        this.push({ type: 'error', id: f.id, code: 'unauthenticated', message: 'bad token' });
        this.close(1008);
        return;
      }
      this.push({ type: 'authenticated', id: f.id, user_id: this.user.id });
      return;
    }
    if (f.type === 'subscribe') {
      const channel = String(f.channel);
      this.channels.add(channel);
      const latest = this.platform.log.length;
      this.push({ type: 'subscribed', id: f.id, channel, seq: latest });
      if (typeof f.after === 'number') {
        for (const e of this.platform.log) if (e.seq > f.after && e.channels.includes(channel)) this.push({ type: 'event', channel, seq: e.seq, event: e.event });
      }
      return;
    }
    if (f.type === 'unsubscribe') this.channels.delete(String(f.channel));
    if (f.type === 'ping') this.push({ type: 'pong', id: f.id });
  }
}
