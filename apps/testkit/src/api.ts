// Test-side helpers that set the scene through the platform's public APIs (REST and GraphQL),
// exactly as another client would: users, projects, members and configs made by someone other
// than the person in the browser.
import { randomBytes } from 'node:crypto';

export interface Session {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string; name: string; role: 'admin' | 'user' };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
  }
}

/** A short random suffix for names that must be unique across tests and runs. */
export const uniq = (): string => randomBytes(4).toString('hex');

async function post(url: string, body: unknown, what: string): Promise<unknown> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const parsed: unknown = await r.json();
  if (!r.ok) throw new ApiError(r.status, parsed, what);
  return parsed;
}

/** One signed-in REST client; it renews its session when the access token has expired. */
export class RestClient {
  constructor(
    readonly restUrl: string,
    public session: Session,
  ) {}

  static async login(restUrl: string, email: string, password: string): Promise<RestClient> {
    return new RestClient(restUrl, (await post(`${restUrl}/auth/login`, { email, password }, `login ${email}`)) as Session);
  }

  private async renew(): Promise<void> {
    const body = { refresh_token: this.session.refresh_token };
    this.session = (await post(`${this.restUrl}/auth/refresh`, body, 'refresh')) as Session;
  }

  get token(): string {
    return this.session.access_token;
  }

  /** An access token valid for at least a few more seconds (renewed when needed). */
  async freshToken(): Promise<string> {
    const exp = Date.parse((this.session as { access_token_expires_at?: string }).access_token_expires_at ?? '');
    if (Number.isFinite(exp) && exp - Date.now() < 5_000) await this.renew();
    return this.token;
  }

  get userId(): string {
    return this.session.user.id;
  }

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.callOnce<T>(method, path, body);
    } catch (e) {
      // Suites may run with short-lived access tokens (ACCESS_TOKEN_TTL_SECS).
      if (!(e instanceof ApiError && e.status === 401 && (e.body as { reason?: string })?.reason === 'TOKEN_EXPIRED')) throw e;
      await this.renew();
      return this.callOnce<T>(method, path, body);
    }
  }

  private async callOnce<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.restUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (!r.ok) throw new ApiError(r.status, parsed, `${method} ${path}`);
    return parsed as T;
  }

  get = <T = Record<string, unknown>>(path: string) => this.call<T>('GET', path);
  post = <T = Record<string, unknown>>(path: string, body?: unknown) => this.call<T>('POST', path, body ?? {});
  put = <T = Record<string, unknown>>(path: string, body: unknown) => this.call<T>('PUT', path, body);
  del = <T = Record<string, unknown>>(path: string) => this.call<T>('DELETE', path);

  /** A new user (admins only) with a known password; role `user` unless given. */
  async createUser(opts: { name?: string; role?: 'admin' | 'user'; email?: string } = {}): Promise<NewUser> {
    const name = opts.name ?? `User ${uniq()}`;
    const email = opts.email ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}.${uniq()}@e2e.test`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const user = await this.post<{ id: string; email: string }>('/users', { email, name, password, role: opts.role ?? 'user' });
    return { id: user.id, email, name, password };
  }

  async createProject(opts: { name?: string; slug?: string } = {}): Promise<Project> {
    const name = opts.name ?? `Project ${uniq()}`;
    const slug = opts.slug ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${uniq()}`;
    return this.post<Project>('/projects', { slug, name, description: '' });
  }

  async addMember(projectId: string, userId: string, role: 'owner' | 'editor' | 'viewer'): Promise<{ id: string }> {
    return this.post('/members', { project_id: projectId, user_id: userId, role });
  }

  async setConfig(projectId: string, key: string, value: unknown): Promise<Config> {
    return this.post<Config>('/configs', { project_id: projectId, key, value, description: '' });
  }

  async updateConfig(config: Config, value: unknown): Promise<Config> {
    return this.put<Config>(`/configs/${config.id}`, { ...config, value });
  }

  async getConfig(id: string): Promise<Config> {
    return this.get<Config>(`/configs/${id}`);
  }
}

export interface NewUser {
  id: string;
  email: string;
  name: string;
  password: string;
}

export interface Project {
  id: string;
  slug: string;
  name: string;
  description: string;
  status: string;
  version: number;
}

export interface Config {
  id: string;
  project_id: string;
  key: string;
  value: unknown;
  description: string;
  version: number;
}

/** A GraphQL call (graphql-edge), for changes that must come from another protocol. */
export async function graphql<T = Record<string, unknown>>(
  graphqlUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const r = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await r.json()) as { data?: T; errors?: unknown[] };
  if (!r.ok || body.errors?.length) throw new ApiError(r.status, body, 'graphql');
  return body.data as T;
}
