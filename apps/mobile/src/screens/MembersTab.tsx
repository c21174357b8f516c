// Who is in the project. Everyone reads the list; owners add people by email, change roles and
// remove members (a removal asks first). Offline, these writes are refused like config saves.
import { useState } from 'react';
import { Pressable, Text, View } from 'react-native';
import { useMutation, type UseQueryState } from 'urql';
import {
  AddMemberDocument,
  RemoveMemberDocument,
  UpdateMemberDocument,
  roleLabel,
  toApiError,
  type MemberFieldsFragment,
  type MemberRole,
  type MembersQuery,
  type MembersQueryVariables,
} from '@platform-sm/client';
import { ErrorMessage, Loading, RefreshWarning, useKeptData } from '../components/QueryState';
import { Banner, Button, Field, colors, styles } from '../components/ui';
import { useMe } from '../context';
import { OFFLINE_WRITE, useOnline } from '../network';
import { useProject } from './projectScope';

const ROLES: MemberRole[] = ['VIEWER', 'EDITOR', 'OWNER'];

export function MembersTab(props: { result: UseQueryState<MembersQuery, MembersQueryVariables>; refetch: (o: { requestPolicy: 'network-only' }) => void }) {
  const { project, isOwner } = useProject();
  const kept = useKeptData(props.result, project.id);
  const members = kept.data?.project.members;
  const manage = isOwner && project.status !== 'ARCHIVED';
  const retry = () => props.refetch({ requestPolicy: 'network-only' });
  return (
    <View style={{ gap: 10 }}>
      <RefreshWarning error={kept.refreshError} retry={retry} />
      {manage && <AddMember />}
      {props.result.error && !members ? (
        <ErrorMessage error={props.result.error} retry={retry} what="the members" />
      ) : !members ? (
        <Loading label="Loading members" />
      ) : (
        <View role="list" aria-label="Members" style={{ gap: 8 }}>
          {members.nodes.map((m) => (
            <MemberRow key={m.id} member={m} manage={manage} />
          ))}
        </View>
      )}
    </View>
  );
}

function RoleChoice({ value, onChange, name, disabled }: { value: MemberRole; onChange: (r: MemberRole) => void; name: string; disabled?: boolean }) {
  return (
    <View role="radiogroup" aria-label={name} style={[styles.row, { flexWrap: 'wrap' }]}>
      {ROLES.map((r) => (
        <Pressable
          key={r}
          role="radio"
          aria-checked={value === r}
          aria-label={roleLabel(r)}
          disabled={disabled}
          onPress={() => value !== r && onChange(r)}
          style={{
            paddingHorizontal: 12,
            paddingVertical: 8,
            borderRadius: 16,
            borderWidth: 1,
            borderColor: colors.primary,
            backgroundColor: value === r ? colors.primary : colors.surface,
            opacity: disabled ? 0.5 : 1,
          }}
        >
          <Text style={{ color: value === r ? '#fff' : colors.primary, fontWeight: '600' }}>{roleLabel(r)}</Text>
        </Pressable>
      ))}
    </View>
  );
}

function MemberRow({ member, manage }: { member: MemberFieldsFragment; manage: boolean }) {
  const me = useMe();
  const online = useOnline();
  const [updateState, update] = useMutation(UpdateMemberDocument);
  const [removeState, remove] = useMutation(RemoveMemberDocument);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const name = member.user?.name ?? 'Unknown user';
  const busy = updateState.fetching || removeState.fetching;
  const changeRole = async (role: MemberRole) => {
    if (!online) return setError(OFFLINE_WRITE);
    setError(null);
    const r = await update({ id: member.id, role, expectedVersion: member.version });
    if (r.error) setError(toApiError(r.error).userMessage);
  };
  const doRemove = async () => {
    setConfirming(false);
    if (!online) return setError(OFFLINE_WRITE);
    setError(null);
    const r = await remove({ id: member.id, expectedVersion: member.version });
    if (r.error) setError(toApiError(r.error).userMessage);
  };
  return (
    <View role="listitem" aria-label={name} style={styles.card}>
      <Text style={{ fontSize: 16, fontWeight: '600', color: colors.text }}>{member.userId === me.id ? `${name} (you)` : name}</Text>
      <Text style={styles.muted}>
        {member.user?.email}
        {manage ? '' : ` · ${roleLabel(member.role)}`}
      </Text>
      {manage && (
        <>
          <RoleChoice name={`Role of ${name}`} value={member.role ?? 'VIEWER'} onChange={(r) => void changeRole(r)} disabled={busy} />
          {confirming ? (
            <View style={[styles.row, { flexWrap: 'wrap' }]}>
              <Text style={{ color: colors.text }}>Remove {name} from the project?</Text>
              <Button small variant="danger" title="Remove" label={`Confirm removing ${name}`} onPress={() => void doRemove()} />
              <Button small title="Cancel" onPress={() => setConfirming(false)} />
            </View>
          ) : (
            <Button small variant="text" title="Remove" label={`Remove ${name}`} disabled={busy} onPress={() => setConfirming(true)} style={{ alignSelf: 'flex-start' }} />
          )}
        </>
      )}
      {error && <Banner kind="error">{error}</Banner>}
    </View>
  );
}

function AddMember() {
  const { project } = useProject();
  const online = useOnline();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<MemberRole>('VIEWER');
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [state, add] = useMutation(AddMemberDocument);
  const submit = async () => {
    setAdded(null);
    if (!email.trim()) return setError('Enter the email of the person to add.');
    if (!online) return setError(OFFLINE_WRITE);
    setError(null);
    const r = await add({ projectId: project.id, email: email.trim(), role });
    if (r.error) {
      const e = toApiError(r.error);
      setError(
        e.code === 'NOT_FOUND'
          ? `Nobody has the email ${email.trim()} on this platform.`
          : e.code === 'CONFLICT'
            ? `${email.trim()} is a member already.`
            : (e.fieldError('email') ?? e.userMessage),
      );
      return;
    }
    setAdded(`${r.data?.addMember.user?.name ?? email.trim()} was added as ${roleLabel(role).toLowerCase()}.`);
    setEmail('');
  };
  return (
    <View style={styles.card}>
      <Field label="Add by email" value={email} onChangeText={setEmail} error={error} autoCapitalize="none" autoCorrect={false} keyboardType="email-address" inputMode="email" />
      <RoleChoice name="Role of the new member" value={role} onChange={setRole} />
      <Button variant="primary" title="Add member" disabled={state.fetching} onPress={() => void submit()} />
      {added && (
        <Text role="status" style={{ color: colors.success }}>
          {added}
        </Text>
      )}
    </View>
  );
}
