import { describe, expect, it } from 'vitest';
import { EndpointsError, resolveEndpoints } from './endpoints.ts';

describe('resolveEndpoints', () => {
  it('defaults to same-origin /graphql and /ws, resolving relative URLs against the page', () => {
    expect(resolveEndpoints({}, { base: 'https://app.example/x/' })).toEqual({
      graphqlUrl: 'https://app.example/graphql',
      realtimeUrl: 'wss://app.example/ws',
    });
    expect(resolveEndpoints({ graphqlUrl: '/graphql', realtimeUrl: 'ws://127.0.0.1:8082/ws' }, { base: 'http://127.0.0.1:8081/' })).toEqual({
      graphqlUrl: 'http://127.0.0.1:8081/graphql',
      realtimeUrl: 'ws://127.0.0.1:8082/ws',
    });
  });

  it('refuses what it cannot use', () => {
    expect(() => resolveEndpoints([], { base: 'http://a/' })).toThrow(EndpointsError);
    expect(() => resolveEndpoints({ apiUrl: 'x' }, { base: 'http://a/' })).toThrow(/unknown key/);
    expect(() => resolveEndpoints({ graphqlUrl: 'ftp://x' }, { base: 'http://a/' })).toThrow(/http/);
    expect(() => resolveEndpoints({ realtimeUrl: '' }, { base: 'http://a/' })).toThrow(/non-empty/);
  });

  it('without a page, wants both URLs, absolute, and says which one is wrong', () => {
    expect(resolveEndpoints({ graphqlUrl: ' https://api.example/graphql ', realtimeUrl: 'https://rt.example/ws' }, { source: 'Settings' })).toEqual({
      graphqlUrl: 'https://api.example/graphql',
      realtimeUrl: 'wss://rt.example/ws',
    });
    const missing = (() => {
      try {
        resolveEndpoints({ graphqlUrl: 'https://api.example/graphql' }, { source: 'Settings' });
      } catch (e) {
        return e as EndpointsError;
      }
    })();
    expect(missing?.key).toBe('realtimeUrl');
    expect(missing?.message).toBe('Settings: "realtimeUrl" must be a non-empty string');
    expect(() => resolveEndpoints({ graphqlUrl: '/graphql', realtimeUrl: 'ws://x/ws' }, { source: 'Settings' })).toThrow(
      'Settings: "graphqlUrl" must be an absolute URL (like https://api.example.com/graphql)',
    );
  });
});
