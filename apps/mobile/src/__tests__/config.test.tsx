// Where the app finds the platform: saved settings, then (web export) config.json, then the Expo
// config; and the settings screen's checks.
import { describe, expect, it, jest } from '@jest/globals';
import { fireEvent, render, screen, waitFor } from '@testing-library/react-native';
import { memoryStorage } from '@platform-sm/client';
import { SERVER_KEY, expoEndpoints, loadStartConfig, saveServer, type StartConfig } from '../config';
import { SettingsScreen } from '../screens/SettingsScreen';
import { NetworkProvider } from '../network';

const PAGE = 'https://m.example.test/app/';
const EXPO = { platform: { graphqlUrl: 'https://api.example.test/graphql', realtimeUrl: 'wss://rt.example.test/ws' } };

function fetchAnswering(status: number, body: string, contentType = 'application/json') {
  return jest.fn(async (_url: unknown, _init?: unknown) => new Response(body, { status, headers: { 'content-type': contentType } })) as unknown as typeof fetch;
}

describe('loadStartConfig', () => {
  it('uses config.json beside the page on the web, relative URLs resolved against the page', async () => {
    const fetch = fetchAnswering(200, JSON.stringify({ graphqlUrl: '/graphql', realtimeUrl: 'ws://rt.example.test:8082/ws' }));
    const c = await loadStartConfig({ storage: memoryStorage(), expoExtra: EXPO, pageUrl: PAGE, fetch });
    expect(c.current).toEqual({ source: 'config.json', endpoints: { graphqlUrl: 'https://m.example.test/graphql', realtimeUrl: 'ws://rt.example.test:8082/ws' } });
    expect(jest.mocked(fetch).mock.calls[0]?.[0]).toBe('https://m.example.test/app/config.json');
    expect(c.problems).toEqual([]);
  });

  it('falls back to the Expo config without config.json (404, or a dev server answering with its page)', async () => {
    for (const fetch of [fetchAnswering(404, 'no'), fetchAnswering(200, '<!doctype html>', 'text/html')]) {
      const c = await loadStartConfig({ storage: memoryStorage(), expoExtra: EXPO, pageUrl: PAGE, fetch });
      expect(c.current).toEqual({ source: 'expo', endpoints: EXPO.platform });
    }
  });

  it('on a phone reads the Expo config; with nothing anywhere, asks', async () => {
    expect((await loadStartConfig({ storage: memoryStorage(), expoExtra: EXPO })).current?.source).toBe('expo');
    const none = await loadStartConfig({ storage: memoryStorage(), expoExtra: { platform: null } });
    expect(none.current).toBeNull();
    expect(none.problems).toEqual([]);
  });

  it('prefers what the person saved, and reports a broken source instead of half-using it', async () => {
    const storage = memoryStorage();
    await saveServer(storage, { graphqlUrl: 'https://mine.example.test/graphql', realtimeUrl: 'wss://mine.example.test/ws' });
    const fetch = fetchAnswering(200, '{"graphqlUrl": "ftp://nope"}');
    const c = await loadStartConfig({ storage, expoExtra: EXPO, pageUrl: PAGE, fetch });
    expect(c.current?.source).toBe('settings');
    expect(c.current?.endpoints.graphqlUrl).toBe('https://mine.example.test/graphql');
    expect(c.fallback?.source).toBe('expo');
    expect(c.problems).toEqual(['config.json: "graphqlUrl" must be an http(s) URL, not ftp:']);

    storage.data.set(SERVER_KEY, '{not json');
    const cleared = await loadStartConfig({ storage, expoExtra: EXPO });
    expect(cleared.current?.source).toBe('expo');
    expect(cleared.problems).toEqual(['The saved server settings were unreadable and have been cleared.']);
    expect(storage.data.has(SERVER_KEY)).toBe(false);
  });

  it('checks the Expo config like any other source', () => {
    expect(() => expoEndpoints({ platform: { graphqlUrl: 'https://api.example.test/graphql' } })).toThrow(
      'The app config (PLATFORM_GRAPHQL_URL, PLATFORM_REALTIME_URL): "realtimeUrl" must be a non-empty string',
    );
    expect(expoEndpoints({})).toBeNull();
  });
});

describe('the settings screen', () => {
  const empty: StartConfig = { current: null, fallback: null, problems: [] };

  it('says what is wrong next to the field and saves nothing until both URLs are usable', async () => {
    const storage = memoryStorage();
    const onSave = jest.fn(async (input: { graphqlUrl: string; realtimeUrl: string }) => {
      await saveServer(storage, input);
    });
    render(
      <NetworkProvider>
        <SettingsScreen config={empty} signedIn={false} onSave={onSave} onUseDefault={async () => {}} />
      </NetworkProvider>,
    );
    expect(screen.getByText('Enter the addresses of your Platform SM server to start.')).toBeOnTheScreen();
    fireEvent.changeText(screen.getByLabelText('GraphQL URL'), 'api.example.test/graphql');
    fireEvent.changeText(screen.getByLabelText('Realtime URL'), 'wss://rt.example.test/ws');
    fireEvent.press(screen.getByRole('button', { name: 'Save server' }));
    expect(await screen.findByText('The GraphQL URL must be an absolute URL (like https://api.example.com/graphql)')).toBeOnTheScreen();
    expect(storage.data.size).toBe(0);

    fireEvent.changeText(screen.getByLabelText('GraphQL URL'), 'https://api.example.test/graphql');
    fireEvent.changeText(screen.getByLabelText('Realtime URL'), 'ftp://rt.example.test/ws');
    fireEvent.press(screen.getByRole('button', { name: 'Save server' }));
    expect(await screen.findByText('The realtime URL must be a ws(s) URL, not ftp:')).toBeOnTheScreen();

    fireEvent.changeText(screen.getByLabelText('Realtime URL'), 'https://rt.example.test/ws');
    fireEvent.press(screen.getByRole('button', { name: 'Save server' }));
    await waitFor(() => expect(storage.data.get(SERVER_KEY)).toBe(JSON.stringify({ graphqlUrl: 'https://api.example.test/graphql', realtimeUrl: 'wss://rt.example.test/ws' })));
  });
});
