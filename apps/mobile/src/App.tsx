// The app for a running platform (its services made for one server): signed out, the sign-in
// screen (and the server settings); signed in, the stack of screens, live through realtime-edge.
import { useEffect, useState, type ReactNode } from 'react';
import { View } from 'react-native';
import { Provider as UrqlProvider } from 'urql';
import { sessionEndMessage, type SessionUser } from '@platform-sm/client';
import { Loading } from './components/ui';
import { ServicesContext, UserContext } from './context';
import { LiveProvider } from './live/LiveProvider';
import { NavigationProvider, useNavigation } from './navigation';
import { ProjectScreen } from './screens/ProjectScreen';
import { ProjectsScreen } from './screens/ProjectsScreen';
import { SignInScreen } from './screens/SignInScreen';
import type { Services } from './services';

export interface AppProps {
  services: Services;
  /** The server settings screen (owned by Root, which makes the services for a server). */
  renderSettings: (opts: { signedIn: boolean; onClose: () => void }) => ReactNode;
}

export function App({ services, renderSettings }: AppProps) {
  const { session } = services;
  const [loaded, setLoaded] = useState(false);
  const [user, setUser] = useState<SessionUser | null>(session.user);
  const [endMessage, setEndMessage] = useState<string | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  useEffect(() => {
    const off = session.subscribe((tokens, end) => {
      setUser(tokens?.user ?? null);
      setEndMessage(tokens ? null : sessionEndMessage(end));
    });
    session.load().then(
      () => setLoaded(true),
      () => setLoaded(true),
    );
    return off;
  }, [session]);

  if (!loaded) {
    return (
      <View style={{ flex: 1, justifyContent: 'center' }}>
        <Loading label="Starting" />
      </View>
    );
  }
  return (
    <ServicesContext.Provider value={services}>
      <UrqlProvider value={services.graphql}>
        {user ? (
          <UserContext.Provider value={user}>
            <LiveProvider key={user.id}>
              <NavigationProvider initial={{ name: 'projects' }}>
                <Stack renderSettings={renderSettings} />
              </NavigationProvider>
            </LiveProvider>
          </UserContext.Provider>
        ) : settingsOpen ? (
          renderSettings({ signedIn: false, onClose: () => setSettingsOpen(false) })
        ) : (
          <SignInScreen endMessage={endMessage} onSignedIn={() => setEndMessage(null)} openSettings={() => setSettingsOpen(true)} />
        )}
      </UrqlProvider>
    </ServicesContext.Provider>
  );
}

/** Every screen of the stack stays mounted; only the top one is shown. */
function Stack({ renderSettings }: Pick<AppProps, 'renderSettings'>) {
  const nav = useNavigation();
  return (
    <>
      {nav.stack.map((route, i) => {
        const top = i === nav.stack.length - 1;
        const key = route.name === 'project' ? `project:${route.projectId}:${i}` : `${route.name}:${i}`;
        return (
          <View key={key} style={{ flex: 1, display: top ? 'flex' : 'none' }} aria-hidden={!top}>
            {route.name === 'projects' && <ProjectsScreen notice={route.notice} />}
            {route.name === 'project' && <ProjectScreen route={route} />}
            {route.name === 'settings' && renderSettings({ signedIn: true, onClose: nav.back })}
          </View>
        );
      })}
    </>
  );
}
