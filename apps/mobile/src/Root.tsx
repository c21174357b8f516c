// The app's start: find the server (src/config.ts), make the services for it, and show the app —
// or the server settings when no server is known yet. Changing the server makes new services
// (and ends the old server's session).
import Constants from 'expo-constants';
import { useEffect, useMemo, useState } from 'react';
import { Platform, StatusBar, Text, View } from 'react-native';
import { SafeAreaProvider } from 'react-native-safe-area-context';
import { App } from './App';
import { NoticeProvider } from './components/Notices';
import { Loading, colors } from './components/ui';
import { clearServer, loadStartConfig, saveServer, type StartConfig } from './config';
import { NetworkProvider } from './network';
import { SettingsScreen } from './screens/SettingsScreen';
import { createServices, type Services } from './services';
import { lock, storage } from './storage';

function pageUrl(): string | undefined {
  return Platform.OS === 'web' && typeof window !== 'undefined' ? window.location.href : undefined;
}

export function Root() {
  const [config, setConfig] = useState<StartConfig | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const load = () =>
    loadStartConfig({ storage, expoExtra: Constants.expoConfig?.extra, pageUrl: pageUrl() }).then(setConfig, (e: unknown) =>
      setFatal(e instanceof Error ? e.message : String(e)),
    );
  useEffect(() => {
    void load();
  }, []);
  const graphqlUrl = config?.current?.endpoints.graphqlUrl;
  const realtimeUrl = config?.current?.endpoints.realtimeUrl;
  // One set of services per server: saving the same addresses again keeps them (two sessions on
  // one storage would both rotate its refresh token).
  const services = useMemo<Services | null>(
    () => (graphqlUrl && realtimeUrl ? createServices({ graphqlUrl, realtimeUrl }, { storage, lock }) : null),
    [graphqlUrl, realtimeUrl],
  );
  useEffect(
    () => () => {
      services?.realtime.stop();
      services?.session.dispose();
    },
    [services],
  );

  const settings = (signedIn: boolean, onClose?: () => void) =>
    config && (
      <SettingsScreen
        config={config}
        signedIn={signedIn}
        onClose={onClose}
        onSave={async (input) => {
          const next = await saveServer(storage, input);
          if (services && (next.graphqlUrl !== services.endpoints.graphqlUrl || next.realtimeUrl !== services.endpoints.realtimeUrl)) {
            await services.session.logout();
          }
          await load();
          onClose?.();
        }}
        onUseDefault={async () => {
          await services?.session.logout();
          await clearServer(storage);
          await load();
          onClose?.();
        }}
      />
    );

  return (
    <SafeAreaProvider>
      <StatusBar barStyle="dark-content" />
      <NetworkProvider>
        <NoticeProvider>
          <View style={{ flex: 1, backgroundColor: colors.background }}>
            {fatal ? (
              <View role="alert" style={{ padding: 24 }}>
                <Text style={{ fontSize: 20, fontWeight: '700' }}>Platform SM cannot start</Text>
                <Text>{fatal}</Text>
              </View>
            ) : !config ? (
              <Loading label="Starting" />
            ) : !services ? (
              settings(false)
            ) : (
              <App key={services.endpoints.graphqlUrl + services.endpoints.realtimeUrl} services={services} renderSettings={({ signedIn, onClose }) => settings(signedIn, onClose)} />
            )}
          </View>
        </NoticeProvider>
      </NetworkProvider>
    </SafeAreaProvider>
  );
}
