import type { MemberRole } from '@platform-sm/client';

export function roleLabel(role: MemberRole | null | undefined): string {
  switch (role) {
    case 'OWNER':
      return 'Owner';
    case 'EDITOR':
      return 'Editor';
    case 'VIEWER':
      return 'Viewer';
    default:
      return 'Member';
  }
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function prettyJson(v: unknown): string {
  return JSON.stringify(v, null, 2) ?? 'null';
}
