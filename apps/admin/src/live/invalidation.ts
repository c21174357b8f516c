// Which React Admin resources an event changes. Pure, so the wiring is unit-tested.
import type { LiveEvent } from './realtime';

/** React Admin resources whose queries an event makes stale. */
export function resourcesFor(e: LiveEvent): string[] {
  const prefix = e.type.split('.')[0];
  const out = new Set<string>(['events']);
  switch (prefix) {
    case 'project':
      out.add('projects');
      out.add('members');
      break;
    case 'member':
      // The caller's own role (`my_role`) on projects may have changed.
      out.add('members');
      out.add('projects');
      break;
    case 'config':
      out.add('configs');
      out.add('config-revisions');
      break;
    case 'setting':
      out.add('settings');
      break;
    case 'user':
      out.add('users');
      break;
    case 'webhook':
      out.add('webhooks');
      break;
    case 'task':
      out.add('tasks');
      break;
    default:
      break;
  }
  return [...out];
}

/** The React Admin resource and id of the record an event is about (e.g. config → configs). */
export function recordOf(e: LiveEvent): { resource: string; id: string } | null {
  if (!e.resource?.type || !e.resource.id) return null;
  const plural: Record<string, string> = {
    project: 'projects',
    config: 'configs',
    member: 'members',
    user: 'users',
    setting: 'settings',
    webhook: 'webhooks',
    task: 'tasks',
  };
  const resource = plural[e.resource.type];
  return resource ? { resource, id: e.resource.id } : null;
}

/** A React Admin query key: [resource, method, params]. */
type Key = readonly unknown[];

/**
 * Whether a cached query must be refetched after `e`: every query of an affected resource,
 * except the getOne of a record someone is editing here (`editing` holds "resource:id"), whose
 * form must not be swapped under the user's hands.
 */
export function isStale(key: Key, e: LiveEvent, editing: ReadonlySet<string>): boolean {
  const [resource, method, params] = key;
  // React Admin caches canAccess answers; membership and project changes can change them.
  if (resource === 'auth') return method === 'canAccess' && /^(member|project)\./.test(e.type);
  if (typeof resource !== 'string' || !resourcesFor(e).includes(resource)) return false;
  if (method === 'getOne' && params && typeof params === 'object' && 'id' in params) {
    return !editing.has(`${resource}:${String((params as { id: unknown }).id)}`);
  }
  return true;
}
