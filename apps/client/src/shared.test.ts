// What the apps share beyond the transport: value checks, event readings, sentences.
import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { configPatchOf, describeEvent, topicsOf, withConfigPatch } from './events.ts';
import type { ConfigFieldsFragment } from './generated/graphql.ts';
import { roleLabel, sessionEndMessage, signInErrorMessage, signUpErrorMessage } from './messages.ts';
import { compactJson, parseJson, prettyJson } from './values.ts';

describe('values', () => {
  it('parses JSON or says why not', () => {
    expect(parseJson(' {"a": [1, true]} ')).toEqual({ ok: true, value: { a: [1, true] } });
    expect(parseJson('null')).toEqual({ ok: true, value: null });
    expect(parseJson('  ')).toEqual({ ok: false, error: 'Enter a JSON value, e.g. true, 42, "text" or {"a": 1}.' });
    const bad = parseJson('{a: 1}');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/^Not valid JSON: /);
  });

  it('shows values', () => {
    expect(prettyJson({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(prettyJson(undefined)).toBe('null');
    expect(compactJson('x'.repeat(100), 10)).toBe('"xxxxxxxx…');
  });
});

describe('events', () => {
  const config: ConfigFieldsFragment = {
    id: 'c1',
    projectId: 'p1',
    key: 'release.percent',
    value: 10,
    description: 'rollout',
    version: 3,
    updatedAt: '2026-01-01T00:00:00Z',
    updatedBy: 'u1',
    deletedAt: null,
  };

  it('reads the record a config event carries, and keeps the newer of it and the fetched one', () => {
    const patch = configPatchOf({
      type: 'config.set',
      payload: { key: 'release.percent', value: 25, version: 4, updated_by: 'u2', updated_at: '2026-01-02T00:00:00Z' },
    });
    expect(patch).toEqual({ key: 'release.percent', value: 25, version: 4, description: '', updatedBy: 'u2', updatedAt: '2026-01-02T00:00:00Z' });
    expect(withConfigPatch(config, patch!)).toMatchObject({ value: 25, version: 4, updatedBy: 'u2' });
    expect(withConfigPatch({ ...config, version: 4 }, patch!)).toMatchObject({ value: 10, version: 4 });
    expect(withConfigPatch(config, undefined)).toBe(config);
    expect(configPatchOf({ type: 'config.deleted', payload: { key: 'a', version: 2 } })).toBeNull();
    expect(configPatchOf({ type: 'config.set', payload: { key: 'a' } })).toBeNull();
  });

  it('says what happened and what it changes', () => {
    const names = (id: string) => (id === 'u2' ? 'Carl' : 'Someone');
    expect(describeEvent('config.set', { key: 'a', value: true }, names)).toBe('set a to true');
    expect(describeEvent('member.added', { user_id: 'u2', role: 'EDITOR' }, names)).toBe('added Carl as editor');
    expect(topicsOf({ type: 'member.removed' })).toEqual(['members', 'project']);
    expect(topicsOf({ type: 'config.deleted' })).toEqual(['configs']);
    expect(topicsOf({ type: 'webhook.created' })).toEqual([]);
  });
});

describe('messages', () => {
  it('names roles, ended sessions and refused sign-ins', () => {
    expect(roleLabel('EDITOR')).toBe('Editor');
    expect(roleLabel(null)).toBe('Member');
    expect(sessionEndMessage({ kind: 'signed-out' })).toBeNull();
    expect(sessionEndMessage({ kind: 'ended', reason: 'REFRESH_TOKEN_REUSED', message: '' })).toMatch(/used from somewhere else/);
    expect(sessionEndMessage({ kind: 'ended', reason: 'EXPIRED', message: '' })).toBe('Your session has ended. Sign in again.');
    expect(signInErrorMessage(new ApiError('UNAUTHENTICATED', 'invalid credentials'))).toBe('Wrong email or password.');
    expect(signInErrorMessage(new ApiError('NETWORK', 'x'))).toMatch(/Cannot reach the server/);
    expect(signUpErrorMessage(new ApiError('CONFLICT', 'x', { reason: 'SIGNUP_DISABLED' }))).toMatch(/does not take sign-ups/);
    expect(signUpErrorMessage(new ApiError('CONFLICT', 'x', { reason: 'EMAIL_TAKEN' }))).toMatch(/sign in instead/);
  });

  it('tells passing failures from final ones', () => {
    expect(new ApiError('NETWORK', 'x').isPassing).toBe(true);
    expect(new ApiError('UNAVAILABLE', 'x').isPassing).toBe(true);
    expect(new ApiError('NOT_FOUND', 'x').isPassing).toBe(false);
    expect(new ApiError('UNAUTHENTICATED', 'x').isPassing).toBe(false);
  });
});
