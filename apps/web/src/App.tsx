import { CssBaseline, ThemeProvider, createTheme } from '@mui/material';
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { HashRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { Provider as UrqlProvider } from 'urql';
import { sessionEndMessage, type SessionUser } from '@platform-sm/client';
import { Layout } from './components/Layout.tsx';
import { LiveProvider } from './live/LiveProvider.tsx';
import { AccountPage } from './pages/AccountPage.tsx';
import { ConfigHistoryPage } from './pages/ConfigHistoryPage.tsx';
import { ProjectPage } from './pages/ProjectPage.tsx';
import { ProjectScope } from './pages/ProjectScope.tsx';
import { ProjectsPage } from './pages/ProjectsPage.tsx';
import { SignInPage } from './pages/SignInPage.tsx';
import { ServicesContext, SessionContext } from './context.ts';
import type { Services } from './services.ts';

const theme = createTheme({
  palette: { primary: { main: '#2747b8' }, secondary: { main: '#7b3fa0' } },
  shape: { borderRadius: 8 },
});

export function App({ services }: { services: Services }) {
  const [user, setUser] = useState<SessionUser | null>(services.session.user);
  const [endMessage, setEndMessage] = useState<string | null>(null);
  useEffect(
    () =>
      services.session.subscribe((tokens, end) => {
        setUser(tokens?.user ?? null);
        if (!tokens) setEndMessage(sessionEndMessage(end));
        else setEndMessage(null);
      }),
    [services.session],
  );
  const session = useMemo(() => ({ user, endMessage, clearEndMessage: () => setEndMessage(null) }), [user, endMessage]);
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <ServicesContext.Provider value={services}>
        <SessionContext.Provider value={session}>
          <UrqlProvider value={services.graphql}>
            <HashRouter>
              {user ? (
                <LiveProvider key={user.id}>
                  <Layout>
                    <Routes>
                      <Route path="/" element={<Navigate to="/projects" replace />} />
                      <Route path="/projects" element={<ProjectsPage />} />
                      <Route path="/projects/:projectId" element={<ProjectScope />}>
                        <Route index element={<Navigate to="configs" replace />} />
                        <Route path="configs/:key" element={<ConfigHistoryPage />} />
                        <Route path=":tab" element={<ProjectPage />} />
                      </Route>
                      <Route path="/account" element={<AccountPage />} />
                      <Route path="/signin" element={<AfterSignIn />} />
                      <Route path="*" element={<NotFound />} />
                    </Routes>
                  </Layout>
                </LiveProvider>
              ) : (
                <SignedOut />
              )}
            </HashRouter>
          </UrqlProvider>
        </SessionContext.Provider>
      </ServicesContext.Provider>
    </ThemeProvider>
  );
}

/** Signed out: every page is the sign-in page, which comes back to the page asked for. */
function SignedOut() {
  const location = useLocation();
  const next = location.pathname === '/signin' ? ((location.state as { next?: string } | null)?.next ?? '/projects') : location.pathname;
  return <SignInPage next={next} />;
}

function AfterSignIn(): ReactNode {
  return <Navigate to="/projects" replace />;
}

function NotFound() {
  return <Navigate to="/projects" replace />;
}
