// The person's projects: search, pull to refresh, following memberships live (added to a
// project elsewhere → it appears). Tapping one opens it.
import { useEffect, useRef, useState } from 'react';
import { Pressable, StyleSheet, Text, View } from 'react-native';
import { useQuery } from 'urql';
import { ProjectsDocument, roleLabel } from '@platform-sm/client';
import { ErrorMessage, Loading, RefreshWarning, useKeptData } from '../components/QueryState';
import { LiveStatus } from '../components/LiveStatus';
import { Screen } from '../components/Screen';
import { Banner, Button, Chip, Field, colors, styles as ui } from '../components/ui';
import { useMe, useServices } from '../context';
import { useMembershipsRevision } from '../live/LiveProvider';
import { useNavigation } from '../navigation';

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function ProjectsScreen({ notice }: { notice?: string }) {
  const me = useMe();
  const { session } = useServices();
  const nav = useNavigation();
  const [search, setSearch] = useState('');
  const [first, setFirst] = useState(50);
  const [pulled, setPulled] = useState(false);
  const q = useDebounced(search.trim(), 250);
  const [result, refetch] = useQuery({
    query: ProjectsDocument,
    // Non-admins see exactly their projects; admins see all (as in the web app).
    variables: { first, filter: q ? { search: q } : {}, orderBy: { field: 'NAME', direction: 'ASC' } },
    requestPolicy: 'cache-and-network',
  });
  const kept = useKeptData(result, JSON.stringify([q, first]));
  const projects = kept.data?.projects;
  const memberships = useMembershipsRevision();
  const seen = useRef(memberships);
  useEffect(() => {
    if (memberships !== seen.current) refetch({ requestPolicy: 'network-only' });
    seen.current = memberships;
  }, [memberships, refetch]);
  useEffect(() => {
    if (pulled && !result.fetching) setPulled(false);
  }, [pulled, result.fetching]);
  const refresh = () => {
    setPulled(true);
    refetch({ requestPolicy: 'network-only' });
  };

  return (
    <Screen
      title={me.role === 'ADMIN' ? 'All projects' : 'My projects'}
      subtitle={me.name}
      refreshing={pulled && result.fetching}
      onRefresh={refresh}
      status={<LiveStatus />}
      actions={
        <>
          <Button small variant="text" title="Server" label="Server settings" onPress={() => nav.push({ name: 'settings' })} />
          <Button small variant="text" title="Sign out" onPress={() => void session.logout()} />
        </>
      }
    >
      {notice && <Banner kind="warning">{notice}</Banner>}
      <Field label="Search projects" value={search} onChangeText={setSearch} placeholder="Name or slug" autoCapitalize="none" autoCorrect={false} inputMode="search" />
      <RefreshWarning error={kept.refreshError} retry={refresh} />
      {result.error && !projects ? (
        <ErrorMessage error={result.error} retry={refresh} what="your projects" />
      ) : !projects ? (
        <Loading label="Loading projects" />
      ) : projects.nodes.length === 0 ? (
        <View style={ui.card}>
          <Text style={ui.muted}>
            {q ? `No project matches “${q}”.` : 'You are not a member of any project yet. Ask an owner to add you.'}
          </Text>
        </View>
      ) : (
        <View role="list" aria-label="Projects" style={styles.list}>
          {projects.nodes.map((p) => (
            <Pressable
              key={p.id}
              role="button"
              aria-label={p.name}
              onPress={() => nav.push({ name: 'project', projectId: p.id, title: p.name })}
              style={({ pressed }) => [styles.item, pressed && { backgroundColor: colors.code }]}
            >
              <View style={styles.itemText}>
                <Text style={styles.name} numberOfLines={1}>
                  {p.name}
                </Text>
                <Text style={ui.muted} numberOfLines={1}>
                  {p.slug}
                  {p.description ? ` · ${p.description}` : ''}
                </Text>
              </View>
              {p.status === 'ARCHIVED' && <Chip>Archived</Chip>}
              <Chip>{roleLabel(p.myRole)}</Chip>
            </Pressable>
          ))}
        </View>
      )}
      {projects && (
        <View style={[ui.row, { justifyContent: 'space-between' }]}>
          <Text style={ui.muted}>
            {projects.totalCount} project{projects.totalCount === 1 ? '' : 's'}
          </Text>
          {projects.pageInfo.hasNextPage && <Button small title="Show more" onPress={() => setFirst((n) => n + 50)} />}
        </View>
      )}
    </Screen>
  );
}

const styles = StyleSheet.create({
  list: { backgroundColor: colors.surface, borderRadius: 10, borderWidth: 1, borderColor: colors.border, overflow: 'hidden' },
  item: { flexDirection: 'row', alignItems: 'center', gap: 8, padding: 14, borderBottomWidth: 1, borderBottomColor: colors.border, minHeight: 56 },
  itemText: { flex: 1, minWidth: 0 },
  name: { fontSize: 16, fontWeight: '600', color: colors.text },
});
