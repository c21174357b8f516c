// The signed-in person: their profile (name), password, and personal API tokens (a new token is
// shown once).
import ContentCopy from '@mui/icons-material/ContentCopy';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  IconButton,
  List,
  ListItem,
  ListItemText,
  Paper,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  ChangePasswordDocument,
  CreateApiTokenDocument,
  MeDocument,
  RenameMeDocument,
  RevokeApiTokenDocument,
  toApiError,
  type ApiError,
  type ApiTokenFieldsFragment,
  type MeQuery,
} from '@platform-sm/client';
import { ErrorMessage, Loading } from '../components/QueryState.tsx';
import { useServices } from '../context.ts';
import { when } from '../format.ts';

export function AccountPage() {
  const [me, refetch] = useQuery({ query: MeDocument, variables: {} });
  const { session } = useServices();
  const user = me.data?.me;
  return (
    <Stack spacing={3}>
      <Typography variant="h4" component="h1">
        Account
      </Typography>
      <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-labelledby="profile-heading">
        <Typography variant="h6" component="h2" id="profile-heading">
          Profile
        </Typography>
        {me.error && !user ? (
          <ErrorMessage error={me.error} retry={() => refetch({ requestPolicy: 'network-only' })} />
        ) : !user ? (
          <Loading label="Loading profile" />
        ) : (
          <Box component="dl" sx={{ display: 'grid', gridTemplateColumns: 'max-content 1fr', columnGap: 2, rowGap: 0.5, m: 0 }}>
            <dt>Name</dt>
            <dd style={{ margin: 0 }}>{user.name}</dd>
            <dt>Email</dt>
            <dd style={{ margin: 0 }}>{user.email}</dd>
            <dt>Role</dt>
            <dd style={{ margin: 0 }}>{user.role === 'ADMIN' ? 'Administrator' : 'User'}</dd>
            <dt>Since</dt>
            <dd style={{ margin: 0 }}>{when(user.createdAt)}</dd>
          </Box>
        )}
        <Button sx={{ mt: 2 }} variant="outlined" onClick={() => void session.logout()}>
          Sign out
        </Button>
      </Paper>
      {user && <RenameForm user={user} />}
      <PasswordForm />
      <ApiTokens />
    </Stack>
  );
}

function ApiTokens() {
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [createState, create] = useMutation(CreateApiTokenDocument);
  const [, revoke] = useMutation(RevokeApiTokenDocument);
  const [created, setCreated] = useState<ApiTokenFieldsFragment[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const n = Number(days);
    const expiresAt = days.trim() && Number.isFinite(n) && n > 0 ? new Date(Date.now() + n * 86_400_000).toISOString() : null;
    const r = await create({ name: name.trim(), expiresAt });
    if (r.error) {
      setError(toApiError(r.error).userMessage);
      return;
    }
    setCreated((c) => [r.data!.createApiToken.apiToken, ...c]);
    setSecret(r.data!.createApiToken.token);
    setName('');
    setDays('');
  };
  const doRevoke = async (t: ApiTokenFieldsFragment) => {
    setError(null);
    const r = await revoke({ id: t.id });
    if (r.error) {
      setError(toApiError(r.error).userMessage);
      return;
    }
    setCreated((c) => c.map((x) => (x.id === t.id ? r.data!.revokeApiToken : x)));
  };

  return (
    <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-labelledby="tokens-heading">
      <Typography variant="h6" component="h2" id="tokens-heading">
        API tokens
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
        A token acts as you for scripts and tools (send it as <code>Authorization: Bearer …</code>). It is shown once, when it is created.
      </Typography>
      <Stack component="form" direction={{ xs: 'column', sm: 'row' }} spacing={1} onSubmit={submit} noValidate aria-label="Create an API token">
        <TextField size="small" label="Token name" value={name} onChange={(e) => setName(e.target.value)} sx={{ flexGrow: 1 }} />
        <TextField size="small" label="Expires in (days, optional)" type="number" value={days} onChange={(e) => setDays(e.target.value)} />
        <Button type="submit" variant="contained" disabled={createState.fetching || !name.trim()}>
          Create token
        </Button>
      </Stack>
      {error && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
      {created.length > 0 && (
        <List aria-label="Tokens created here">
          {created.map((t) => (
            <ListItem
              key={t.id}
              divider
              secondaryAction={
                t.revokedAt ? (
                  <Typography variant="body2">Revoked</Typography>
                ) : (
                  <Button color="error" onClick={() => void doRevoke(t)} aria-label={`Revoke ${t.name}`}>
                    Revoke
                  </Button>
                )
              }
            >
              <ListItemText primary={t.name} secondary={`${t.prefix}… · created ${when(t.createdAt)}${t.expiresAt ? ` · expires ${when(t.expiresAt)}` : ''}`} />
            </ListItem>
          ))}
        </List>
      )}
      <Dialog open={secret !== null} onClose={() => setSecret(null)} fullWidth maxWidth="sm">
        <DialogTitle>Your new API token</DialogTitle>
        <DialogContent>
          <DialogContentText>Copy it now: it will not be shown again.</DialogContentText>
          <Stack direction="row" spacing={1} sx={{ mt: 1, alignItems: 'center' }}>
            <Box component="code" aria-label="New API token" sx={{ p: 1, bgcolor: 'grey.100', borderRadius: 1, wordBreak: 'break-all', flexGrow: 1 }}>
              {secret}
            </Box>
            <IconButton
              aria-label="Copy the token"
              onClick={() => {
                void navigator.clipboard.writeText(secret ?? '');
                setCopied(true);
              }}
            >
              <ContentCopy />
            </IconButton>
          </Stack>
          {copied && <Typography variant="body2">Copied.</Typography>}
        </DialogContent>
        <DialogActions>
          <Button
            variant="contained"
            onClick={() => {
              setSecret(null);
              setCopied(false);
            }}
          >
            Done
          </Button>
        </DialogActions>
      </Dialog>
    </Paper>
  );
}

/** Changes the person's name, with the version they saw (a change made elsewhere is a conflict). */
function RenameForm({ user }: { user: MeQuery['me'] }) {
  const [name, setName] = useState(user.name);
  const [state, rename] = useMutation(RenameMeDocument);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const r = await rename({ id: user.id, name: name.trim(), expectedVersion: user.version });
    if (r.error) {
      setError(toApiError(r.error));
      return;
    }
    setSaved(true);
  };
  const fieldError = error?.fieldError('name');
  const message = error?.isStale
    ? 'Your profile was changed elsewhere meanwhile: reload the page and try again.'
    : fieldError
      ? null
      : error?.userMessage;

  return (
    <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-labelledby="name-heading">
      <Typography variant="h6" component="h2" id="name-heading" gutterBottom>
        Your name
      </Typography>
      <Stack component="form" direction={{ xs: 'column', sm: 'row' }} spacing={1} onSubmit={submit} noValidate aria-label="Change your name">
        <TextField
          size="small"
          label="Name"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            setSaved(false);
          }}
          error={!!fieldError}
          helperText={fieldError}
          sx={{ flexGrow: 1 }}
        />
        <Button type="submit" variant="contained" disabled={state.fetching || !name.trim() || name.trim() === user.name}>
          Save name
        </Button>
      </Stack>
      {message && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {message}
        </Alert>
      )}
      {saved && (
        <Alert severity="success" sx={{ mt: 1 }}>
          Name saved.
        </Alert>
      )}
    </Paper>
  );
}

/** Changes the password; the server ends the person's other sessions (this one stays). */
function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [state, change] = useMutation(ChangePasswordDocument);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState(false);
  const mismatch = repeat !== '' && repeat !== next;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(false);
    const r = await change({ currentPassword: current, newPassword: next });
    if (r.error) {
      setError(toApiError(r.error));
      return;
    }
    setCurrent('');
    setNext('');
    setRepeat('');
    setDone(true);
  };
  const currentError = error?.fieldError('current_password');
  const newError = error?.fieldError('new_password');
  const message = currentError || newError ? null : error?.userMessage;

  return (
    <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-labelledby="password-heading">
      <Typography variant="h6" component="h2" id="password-heading" gutterBottom>
        Password
      </Typography>
      <Stack component="form" spacing={2} onSubmit={submit} noValidate aria-label="Change your password" sx={{ maxWidth: 400 }}>
        <TextField
          size="small"
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
          error={!!currentError}
          helperText={currentError}
        />
        <TextField
          size="small"
          label="New password"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.target.value)}
          error={!!newError}
          helperText={newError}
        />
        <TextField
          size="small"
          label="New password again"
          type="password"
          autoComplete="new-password"
          value={repeat}
          onChange={(e) => setRepeat(e.target.value)}
          error={mismatch}
          helperText={mismatch ? 'The two new passwords differ.' : undefined}
        />
        <Button type="submit" variant="contained" disabled={state.fetching || !current || !next || repeat !== next}>
          Change password
        </Button>
      </Stack>
      {message && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {message}
        </Alert>
      )}
      {done && (
        <Alert severity="success" sx={{ mt: 1 }}>
          Password changed. Your other sessions were signed out; this one stays.
        </Alert>
      )}
    </Paper>
  );
}
