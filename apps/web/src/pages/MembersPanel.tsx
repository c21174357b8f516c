// Who is in the project. Owners add people by email, change roles and remove members; everyone
// else sees the list.
import { Alert, Box, Button, List, ListItem, ListItemText, Paper, Stack, TextField, Typography } from '@mui/material';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  AddMemberDocument,
  MembersDocument,
  RemoveMemberDocument,
  UpdateMemberDocument,
  toApiError,
  type MemberFieldsFragment,
  type MemberRole,
} from '@platform-sm/client';
import { useMe } from '../context.ts';
import { ErrorMessage, Loading, RefreshWarning, useKeptData } from '../components/QueryState.tsx';
import { useLiveRefetch } from '../live/ProjectLive.tsx';
import { roleLabel } from '../format.ts';
import { useProject } from './ProjectScope.tsx';

const ROLES: MemberRole[] = ['VIEWER', 'EDITOR', 'OWNER'];

export function MembersPanel() {
  const { project, isOwner } = useProject();
  const [result, refetch] = useQuery({ query: MembersDocument, variables: { projectId: project.id, first: 100 } });
  useLiveRefetch('members', refetch);
  const kept = useKeptData(result, project.id);
  const members = kept.data?.project.members;
  const manage = isOwner && project.status !== 'ARCHIVED';
  return (
    <Stack spacing={2}>
      <Typography variant="h6" component="h2">
        Members
      </Typography>
      {manage && <AddMember />}
      <RefreshWarning error={kept.refreshError} retry={() => refetch({ requestPolicy: 'network-only' })} />
      {result.error && !members ? (
        <ErrorMessage error={result.error} retry={() => refetch({ requestPolicy: 'network-only' })} />
      ) : !members ? (
        <Loading label="Loading members" />
      ) : (
        <Paper variant="outlined">
          <List aria-label="Members">
            {members.nodes.map((m) => (
              <MemberRow key={m.id} member={m} manage={manage} />
            ))}
          </List>
        </Paper>
      )}
    </Stack>
  );
}

function MemberRow({ member, manage }: { member: MemberFieldsFragment; manage: boolean }) {
  const me = useMe();
  const [, update] = useMutation(UpdateMemberDocument);
  const [removeState, remove] = useMutation(RemoveMemberDocument);
  const [error, setError] = useState<string | null>(null);
  const name = member.user?.name ?? 'Unknown user';
  const changeRole = async (role: MemberRole) => {
    setError(null);
    const r = await update({ id: member.id, role, expectedVersion: member.version });
    if (r.error) setError(toApiError(r.error).userMessage);
  };
  const doRemove = async () => {
    setError(null);
    const r = await remove({ id: member.id, expectedVersion: member.version });
    if (r.error) setError(toApiError(r.error).userMessage);
  };
  return (
    <ListItem divider sx={{ flexWrap: 'wrap', gap: 1 }}>
      <ListItemText primary={member.userId === me.id ? `${name} (you)` : name} secondary={member.user?.email} sx={{ minWidth: 180 }} />
      {manage ? (
        <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
          <TextField
            select
            size="small"
            label="Role"
            value={member.role ?? 'VIEWER'}
            onChange={(e) => void changeRole(e.target.value as MemberRole)}
            slotProps={{ select: { native: true }, htmlInput: { 'aria-label': `Role of ${name}` } }}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </TextField>
          <Button color="error" size="small" disabled={removeState.fetching} onClick={doRemove} aria-label={`Remove ${name}`}>
            Remove
          </Button>
        </Stack>
      ) : (
        <Typography variant="body2">{roleLabel(member.role)}</Typography>
      )}
      {error && (
        <Alert severity="error" sx={{ width: '100%' }}>
          {error}
        </Alert>
      )}
    </ListItem>
  );
}

function AddMember() {
  const { project } = useProject();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<MemberRole>('VIEWER');
  const [state, add] = useMutation(AddMemberDocument);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const r = await add({ projectId: project.id, email: email.trim(), role });
    if (r.error) {
      const err = toApiError(r.error);
      setError(err.code === 'NOT_FOUND' || /no such user/i.test(err.message) ? `No user has the email ${email.trim()}.` : err.code === 'CONFLICT' ? `${email.trim()} is a member already.` : err.userMessage);
      return;
    }
    setEmail('');
  };
  return (
    <Box component="form" onSubmit={submit} noValidate aria-label="Add a member">
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1}>
        <TextField label="Email of the person to add" type="email" size="small" value={email} onChange={(e) => setEmail(e.target.value)} sx={{ flexGrow: 1 }} />
        <TextField
          select
          size="small"
          label="New member's role"
          value={role}
          onChange={(e) => setRole(e.target.value as MemberRole)}
          sx={{ minWidth: 140 }}
          slotProps={{ select: { native: true } }}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {roleLabel(r)}
            </option>
          ))}
        </TextField>
        <Button type="submit" variant="contained" disabled={state.fetching || !email.trim()}>
          Add member
        </Button>
      </Stack>
      {error && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
    </Box>
  );
}
