import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Admin, Resource } from 'react-admin';
import { i18nProvider } from './i18n';
import { createAuthProvider, type ProjectRole } from './authProvider';
import type { AppConfig } from './config';
import { createDataProvider, createHttpClient, OwnRequests } from './dataProvider';
import { Layout } from './layout/Layout';
import { LoginPage } from './layout/LoginPage';
import { LiveProvider } from './live/LiveProvider';
import apiTokens from './apiTokens';
import configs from './configs';
import events from './events';
import members from './members';
import projects from './projects';
import settings from './settings';
import tasks from './tasks';
import users from './users';
import webhooks from './webhooks';
import type { SessionStore } from './session';

export function App({ config, session }: { config: AppConfig; session: SessionStore }) {
  const { queryClient, dataProvider, authProvider, own } = useMemo(() => {
    const own = new OwnRequests();
    const httpClient = createHttpClient(session, own);
    const dataProvider = createDataProvider(config.apiUrl, httpClient);
    const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: 5_000 } } });
    // The caller's role in a project (for buttons), cached briefly. Its key starts with
    // 'projects', so the live feed's project and member events invalidate it too.
    const projectRole = async (id: string): Promise<ProjectRole | null> => {
      try {
        return await queryClient.fetchQuery({
          queryKey: ['projects', 'myRole', String(id)],
          queryFn: async () => {
            const { data } = await dataProvider.getOne('projects', { id });
            return (data.my_role as ProjectRole | undefined) ?? null;
          },
          staleTime: 5_000,
        });
      } catch {
        return null;
      }
    };
    const authProvider = createAuthProvider(session, projectRole);
    return { queryClient, dataProvider, authProvider, own };
  }, [config, session]);

  return (
    <QueryClientProvider client={queryClient}>
      <LiveProvider session={session} realtimeUrl={config.realtimeUrl} own={own}>
        <Admin
          title="Platform SM"
          dataProvider={dataProvider}
          authProvider={authProvider}
          queryClient={queryClient}
          layout={Layout}
          loginPage={LoginPage}
          i18nProvider={i18nProvider}
          disableTelemetry
          requireAuth
        >
          {/* Menu entries, buttons and pages follow authProvider.canAccess (admins only: users,
              settings, the global audit log). Members and configs live inside their project. */}
          <Resource name="projects" {...projects} />
          <Resource name="users" {...users} />
          <Resource name="tasks" {...tasks} />
          <Resource name="events" {...events} />
          <Resource name="settings" {...settings} />
          <Resource name="api-tokens" {...apiTokens} />
          <Resource name="members" {...members} />
          <Resource name="configs" {...configs} />
          <Resource name="config-revisions" />
          <Resource name="webhooks" {...webhooks} />
          <Resource name="webhook-deliveries" />
        </Admin>
      </LiveProvider>
    </QueryClientProvider>
  );
}
