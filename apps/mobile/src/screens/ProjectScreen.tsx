// A project: its configs (values readable on a phone; editors edit), one config's recent history,
// and its members (owners manage them). Kept current by the project's live subscription.
import { useEffect, useState } from 'react';
import { Pressable, StyleSheet, Text, View } from 'react-native';
import { useQuery } from 'urql';
import { ConfigsDocument, MembersDocument, ProjectDocument, roleLabel, toApiError } from '@platform-sm/client';
import { ErrorMessage, Loading, useKeptData } from '../components/QueryState';
import { LiveStatus } from '../components/LiveStatus';
import { Screen } from '../components/Screen';
import { Banner, Button, colors } from '../components/ui';
import { ProjectLiveProvider, useLiveRefetch } from '../live/ProjectLive';
import { useNavigation, type Route } from '../navigation';
import { ConfigsTab } from './ConfigsTab';
import { HistoryScreen } from './HistoryScreen';
import { MembersTab } from './MembersTab';
import { ProjectScopeContext, useProject, type ProjectScope } from './projectScope';

type ProjectRoute = Extract<Route, { name: 'project' }>;

export function ProjectScreen({ route }: { route: ProjectRoute }) {
  const nav = useNavigation();
  const [result, refetch] = useQuery({ query: ProjectDocument, variables: { id: route.projectId } });
  const project = useKeptData(result, route.projectId).data?.project;
  if (!project) {
    const notFound = result.error && ['NOT_FOUND', 'BAD_USER_INPUT'].includes(toApiError(result.error).code);
    return (
      <Screen title={route.title} onBack={nav.back}>
        {notFound ? (
          <Banner kind="warning">This project does not exist, or you are not a member of it.</Banner>
        ) : result.error ? (
          <ErrorMessage error={result.error} retry={() => refetch({ requestPolicy: 'network-only' })} what="this project" />
        ) : (
          <Loading label="Loading project" />
        )}
      </Screen>
    );
  }
  const archived = project.status === 'ARCHIVED';
  const scope: ProjectScope = {
    project,
    canEditConfigs: !archived && (project.myRole === 'OWNER' || project.myRole === 'EDITOR'),
    isOwner: project.myRole === 'OWNER',
  };
  return (
    <ProjectLiveProvider projectId={project.id} projectName={project.name}>
      <ProjectScopeContext.Provider value={scope}>
        <RefetchOnProjectChange refetch={refetch} />
        {route.historyOf ? (
          <HistoryScreen configKey={route.historyOf} onBack={() => nav.replace({ ...route, historyOf: undefined })} />
        ) : (
          <ProjectTabs openHistory={(key) => nav.replace({ ...route, historyOf: key })} refetchProject={refetch} />
        )}
      </ProjectScopeContext.Provider>
    </ProjectLiveProvider>
  );
}

function RefetchOnProjectChange({ refetch }: { refetch: (o: { requestPolicy: 'network-only' }) => void }) {
  useLiveRefetch('project', refetch);
  return null;
}

type Tab = 'configs' | 'members';

function ProjectTabs({ openHistory, refetchProject }: { openHistory: (key: string) => void; refetchProject: (o: { requestPolicy: 'network-only' }) => void }) {
  const nav = useNavigation();
  const { project, canEditConfigs } = useProject();
  const [tab, setTab] = useState<Tab>('configs');
  const [configs, refetchConfigs] = useQuery({ query: ConfigsDocument, variables: { projectId: project.id, first: 100 } });
  const [members, refetchMembers] = useQuery({ query: MembersDocument, variables: { projectId: project.id, first: 100 } });
  useLiveRefetch('configs', refetchConfigs);
  useLiveRefetch('members', refetchMembers);
  const [pulled, setPulled] = useState(false);
  const fetching = configs.fetching || members.fetching;
  useEffect(() => {
    if (pulled && !fetching) setPulled(false);
  }, [pulled, fetching]);
  const refresh = () => {
    setPulled(true);
    const o = { requestPolicy: 'network-only' as const };
    refetchProject(o);
    refetchConfigs(o);
    refetchMembers(o);
  };
  const archived = project.status === 'ARCHIVED';
  return (
    <Screen
      title={project.name}
      subtitle={`${roleLabel(project.myRole)}${archived ? ' · archived (read-only)' : ''}`}
      onBack={nav.back}
      backLabel="Back to projects"
      refreshing={pulled && fetching}
      onRefresh={refresh}
      status={<LiveStatus />}
    >
      <View role="tablist" style={styles.tabs}>
        {(['configs', 'members'] as const).map((t) => (
          <Pressable key={t} role="tab" aria-selected={tab === t} onPress={() => setTab(t)} style={[styles.tab, tab === t && styles.tabOn]}>
            <Text style={[styles.tabText, tab === t && styles.tabTextOn]}>{t === 'configs' ? 'Configs' : 'Members'}</Text>
          </Pressable>
        ))}
      </View>
      {tab === 'configs' ? (
        <ConfigsTab result={configs} refetch={refetchConfigs} openHistory={openHistory} canEdit={canEditConfigs} />
      ) : (
        <MembersTab result={members} refetch={refetchMembers} />
      )}
    </Screen>
  );
}


const styles = StyleSheet.create({
  tabs: { flexDirection: 'row', backgroundColor: colors.surface, borderRadius: 10, borderWidth: 1, borderColor: colors.border, overflow: 'hidden' },
  tab: { flex: 1, paddingVertical: 12, alignItems: 'center' },
  tabOn: { backgroundColor: colors.primary },
  tabText: { fontSize: 15, fontWeight: '600', color: colors.primary },
  tabTextOn: { color: '#fff' },
});
