// React Admin's authProvider over rest-edge's /auth endpoints (via SessionStore) and the
// platform's roles: admins may do everything; others act by their role in each project
// (viewer reads, editor also writes configs, owner also manages the project, members, webhooks).
// The server decides in the end (core-svc); this only keeps the screens honest: no button that
// would be refused, no menu entry for what is admins' only.
import type { AuthProvider } from 'react-admin';
import { SessionEndedError, type SessionStore } from './session';

export type ProjectRole = 'owner' | 'editor' | 'viewer';

/** Admin-only screens: users, settings, and the global audit log and task list. */
const ADMIN_ONLY = new Set(['users', 'settings']);
const RANK: Record<ProjectRole, number> = { viewer: 0, editor: 1, owner: 2 };

interface Rec {
  id?: unknown;
  project_id?: unknown;
  my_role?: unknown;
  user_id?: unknown;
}

/** The least project role an action on a resource needs, or null when no project role applies. */
function neededRole(resource: string, action: string): ProjectRole | null {
  const write = !['list', 'show', 'export'].includes(action);
  switch (resource) {
    case 'projects':
    case 'members':
      return write ? 'owner' : 'viewer';
    case 'webhooks':
    case 'webhook-deliveries':
      return 'owner';
    case 'configs':
    case 'config-revisions':
      return write ? 'editor' : 'viewer';
    default:
      return null;
  }
}

export function createAuthProvider(
  session: SessionStore,
  projectRole: (projectId: string) => Promise<ProjectRole | null>,
): AuthProvider {
  return {
    async login({ username, password }: { username: string; password: string }) {
      await session.login(username, password);
    },
    async logout() {
      await session.logout();
      if (typeof window === 'undefined') return undefined;
      // Already on the login page: stay. Elsewhere: load the login page afresh, which also drops
      // everything the previous user's session had in memory (caches, live subscriptions), and
      // avoids react-admin's in-app logout redirect, which can bounce between the protected
      // routes and the login page for seconds (its logout/permissions race, issue #10764).
      if (window.location.hash.startsWith('#/login')) return false;
      return `${window.location.origin}${window.location.pathname}${window.location.search}#/login`;
    },
    async checkAuth() {
      try {
        await session.accessToken();
      } catch (e) {
        if (e instanceof SessionEndedError) throw { message: false };
        throw e;
      }
    },
    async checkError(error: { status?: number }) {
      // 401: the session is over (refresh was already tried by the http client).
      if (error?.status === 401) {
        session.clear();
        throw { message: 'Your session has ended; please sign in again.' };
      }
      // 403 and everything else: stay signed in, the page shows the error.
    },
    async getIdentity() {
      const s = session.get();
      if (!s) throw new Error('not signed in');
      return { id: s.user.id, fullName: s.user.name || s.user.email, email: s.user.email, role: s.user.role };
    },
    async getPermissions() {
      return session.get()?.user.role ?? null;
    },
    async canAccess({ resource, action, record }: { resource: string; action: string; record?: Rec }) {
      const s = session.get();
      if (!s) return false;
      if (s.user.role === 'admin') return true;
      if (ADMIN_ONLY.has(resource)) return false;
      // The global audit log is the admins'; a member reads their projects' events inside them.
      if (resource === 'events') return action !== 'list';
      if (resource === 'api-tokens' || resource === 'tasks') return true;
      const needed = neededRole(resource, action);
      if (needed === null) return true;
      // Page-level checks come without a record (react-admin asks before loading it): let the
      // page load, core-svc decides what the caller may read (a non-member gets "not found").
      // Buttons and fields ask with their record, and follow the caller's role in its project.
      if (!record) return true;
      if (resource === 'projects' && action === 'create') return true;
      // The record's project: the record itself for projects, and for a create button on a
      // project's page (the record in context is then the project).
      const role = record.project_id
        ? await projectRole(String(record.project_id))
        : ((record.my_role as ProjectRole | undefined) ??
          (resource === 'projects' && record.id ? await projectRole(String(record.id)) : null));
      return role !== null && RANK[role] >= RANK[needed];
    },
  };
}
