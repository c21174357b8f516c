// What apps make of realtime-edge's events: the data each one changes (so screens showing it
// fetch it again), the record a config event carries (shown at once, before that refetch
// answers), and a person's sentence for notices and feeds.
import type { ConfigFieldsFragment } from './generated/graphql.ts';
import type { RealtimeEvent } from './realtime.ts';
import { compactJson } from './values.ts';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

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

/** A config as a `config.set` / `config.rolled_back` event's payload carries it (the record after the change). */
export interface ConfigPatch {
  key: string;
  value: unknown;
  version: number;
  description: string;
  updatedBy: string | null;
  updatedAt: string | null;
}

/** The config record an event carries, if it carries one. */
export function configPatchOf(e: Pick<RealtimeEvent, 'type' | 'payload'>): ConfigPatch | null {
  if (e.type !== 'config.set' && e.type !== 'config.rolled_back') return null;
  const p = (e.payload ?? {}) as Record<string, unknown>;
  if (typeof p.key !== 'string' || typeof p.version !== 'number') return null;
  return {
    key: p.key,
    value: p.value,
    version: p.version,
    description: typeof p.description === 'string' ? p.description : '',
    updatedBy: typeof p.updated_by === 'string' ? p.updated_by : null,
    updatedAt: typeof p.updated_at === 'string' ? p.updated_at : null,
  };
}

/** The newer of a fetched config and the last live event about it. */
export function withConfigPatch<C extends ConfigFieldsFragment>(c: C, p: ConfigPatch | undefined): C {
  if (!p || p.version <= c.version) return c;
  return { ...c, value: p.value, version: p.version, description: p.description, updatedBy: p.updatedBy ?? c.updatedBy, updatedAt: p.updatedAt ?? c.updatedAt };
}
