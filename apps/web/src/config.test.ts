import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './config.ts';

describe('resolveConfig', () => {
  it('defaults to same-origin /graphql and /ws, resolving relative URLs against the page', () => {
    expect(resolveConfig({}, 'https://app.example/x/')).toEqual({
      graphqlUrl: 'https://app.example/graphql',
      realtimeUrl: 'wss://app.example/ws',
    });
    expect(resolveConfig({ graphqlUrl: '/graphql', realtimeUrl: 'ws://127.0.0.1:8082/ws' }, 'http://127.0.0.1:8081/')).toEqual({
      graphqlUrl: 'http://127.0.0.1:8081/graphql',
      realtimeUrl: 'ws://127.0.0.1:8082/ws',
    });
  });

  it('refuses what it cannot use', () => {
    expect(() => resolveConfig([], 'http://a/')).toThrow(ConfigError);
    expect(() => resolveConfig({ apiUrl: 'x' }, 'http://a/')).toThrow(/unknown key/);
    expect(() => resolveConfig({ graphqlUrl: 'ftp://x' }, 'http://a/')).toThrow(/http/);
    expect(() => resolveConfig({ realtimeUrl: '' }, 'http://a/')).toThrow(/non-empty/);
  });
});
