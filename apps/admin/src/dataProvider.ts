// The stock ra-data-simple-rest provider, unmodified, over rest-edge, with an httpClient that
// adds the session's bearer token and an x-request-id (so live events caused by this tab can be
// told from other people's: core-svc records the id on every event), renews the session once on a
// 401, turns problem+json field errors into React Admin's { field: message } form errors, and
// says how long to wait on a 429.
import { HttpError, type DataProvider, type Options } from 'react-admin';
import simpleRestProvider from 'ra-data-simple-rest';
import { retryAfterText, SessionEndedError, type SessionStore } from './session';

interface Problem {
  message?: string;
  detail?: string;
  title?: string;
  reason?: string;
  errors?: { field: string; message: string }[] | Record<string, string>;
}

/** Request ids this tab sent recently (bounded), to recognise our own changes in the event feed. */
export class OwnRequests {
  private ids: string[] = [];
  private set = new Set<string>();
  constructor(private readonly max = 500) {}
  next(): string {
    const id = crypto.randomUUID();
    this.ids.push(id);
    this.set.add(id);
    if (this.ids.length > this.max) this.set.delete(this.ids.shift()!);
    return id;
  }
  has(id: string | undefined | null): boolean {
    return !!id && this.set.has(id);
  }
}

export type HttpClient = (
  url: string,
  options?: Options,
) => Promise<{ status: number; headers: Headers; body: string; json: any }>;

export function createHttpClient(session: SessionStore, own: OwnRequests, fetchImpl: typeof fetch = fetch): HttpClient {
  const once = async (url: string, options: Options) => {
    const headers = new Headers(options.headers ?? { Accept: 'application/json' });
    if (!headers.has('Accept')) headers.set('Accept', 'application/json');
    if (options.body && !(options.body instanceof FormData) && !headers.has('Content-Type')) {
      headers.set('Content-Type', 'application/json');
    }
    let token: string;
    try {
      token = await session.accessToken();
    } catch (e) {
      if (e instanceof SessionEndedError) throw new HttpError('Your session has ended; please sign in again.', 401, {});
      throw e;
    }
    headers.set('Authorization', `Bearer ${token}`);
    headers.set('x-request-id', own.next());
    const { user: _user, ...init } = options;
    const r = await fetchImpl(url, { ...init, headers });
    const body = await r.text();
    let json: any;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, body, json };
  };
  return async (url, options = {}) => {
    let res = await once(url, options);
    if (res.status === 401) {
      // The access token was refused (expired, or the server restarted with a new key): renew
      // once. A refresh that fails ends the session, and the 401 below sends to the login page.
      try {
        await session.refresh();
        res = await once(url, options);
      } catch {
        /* fall through with the 401 */
      }
    }
    if (res.status < 200 || res.status >= 300) {
      const p = (res.json ?? {}) as Problem;
      let message = p.message || p.detail || p.title || `HTTP ${res.status}`;
      if (res.status === 429) message = `Too many requests: ${retryAfterText(res.headers)}.`;
      const body: Record<string, unknown> = { ...p };
      if (Array.isArray(p.errors) && p.errors.length > 0) {
        // React Admin shows body.errors[field] under the field of that name.
        body.errors = Object.fromEntries(p.errors.map((e) => [e.field, e.message]));
        body.violations = p.errors;
      }
      throw new HttpError(message, res.status, body);
    }
    return res;
  };
}

/** The platform's operations that are not CRUD, as custom methods beside the stock ones. */
export interface PlatformMethods {
  projectAction(id: unknown, action: 'archive' | 'unarchive'): Promise<{ data: any }>;
  exportProject(id: unknown): Promise<{ data: any }>;
  taskAction(id: unknown, action: 'retry' | 'cancel'): Promise<{ data: any }>;
  rollbackConfig(id: unknown, toVersion: number, version?: number): Promise<{ data: any }>;
  /** The export document of a succeeded project.export task, as a file Blob. */
  downloadExport(taskId: unknown): Promise<{ blob: Blob; filename: string }>;
}

export type PlatformDataProvider = DataProvider & PlatformMethods;

export function createDataProvider(apiUrl: string, httpClient: HttpClient): PlatformDataProvider {
  const post = async (path: string, body: unknown = {}) => {
    const r = await httpClient(`${apiUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { data: r.json };
  };
  const enc = (id: unknown) => encodeURIComponent(String(id));
  return {
    ...simpleRestProvider(apiUrl, httpClient),
    projectAction: (id, action) => post(`/projects/${enc(id)}/${action}`),
    exportProject: (id) => post(`/projects/${enc(id)}/export`),
    taskAction: (id, action) => post(`/tasks/${enc(id)}/${action}`),
    rollbackConfig: (id, toVersion, version) =>
      post(`/configs/${enc(id)}/rollback`, version === undefined ? { to_version: toVersion } : { to_version: toVersion, version }),
    async downloadExport(taskId) {
      const r = await httpClient(`${apiUrl}/tasks/${enc(taskId)}/export`, { method: 'GET' });
      const cd = r.headers.get('content-disposition') ?? '';
      const filename = /filename="?([^";]+)"?/.exec(cd)?.[1] ?? `export-${String(taskId)}.json`;
      return { blob: new Blob([r.body], { type: 'application/json' }), filename };
    },
  };
}
