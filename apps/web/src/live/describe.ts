// Events in a person's words, for the activity feed and the "updated by …" notices.
import type { RealtimeEvent } from '@platform-sm/client';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function compactJson(v: unknown, max = 60): string {
  const s = JSON.stringify(v) ?? 'null';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** "set checkout.enabled to true" — what happened, without who. */
export function describeEvent(type: string, payload: unknown, names: (userId: string) => string): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'config.set':
      return `set ${str(p.key)} to ${compactJson(p.value)}`;
    case 'config.deleted':
      return `deleted ${str(p.key)}`;
    case 'config.rolled_back':
      return `rolled ${str(p.key)} back to ${compactJson(p.value)}`;
    case 'config.imported':
      return 'imported configs';
    case 'member.added':
      return `added ${names(str(p.user_id))} as ${str(p.role).toLowerCase()}`;
    case 'member.updated':
      return `made ${names(str(p.user_id))} ${str(p.role).toLowerCase()}`;
    case 'member.removed':
      return `removed ${names(str(p.user_id))}`;
    case 'project.created':
      return 'created the project';
    case 'project.updated':
      return 'updated the project';
    case 'project.archived':
      return 'archived the project';
    case 'project.unarchived':
      return 'unarchived the project';
    case 'project.deleted':
      return 'deleted the project';
    case 'webhook.created':
    case 'webhook.updated':
    case 'webhook.deleted':
      return `${type.split('.')[1]} a webhook`;
    default:
      return type.replace('.', ' ');
  }
}

export type Topic = 'configs' | 'members' | 'project';

/** Which data an event changes. */
export function topicsOf(e: Pick<RealtimeEvent, 'type'>): Topic[] {
  const kind = e.type.split('.')[0];
  if (kind === 'config') return ['configs'];
  if (kind === 'member') return ['members', 'project'];
  if (kind === 'project') return ['project'];
  return [];
}
