import { Alert, Box, Button, Card, CardContent, Stack, TextField, Typography } from '@mui/material';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { signInErrorMessage, toApiError } from '@platform-sm/client';
import { useServices, useSession } from '../context.ts';

export function SignInPage({ next }: { next: string }) {
  const { session } = useServices();
  const { endMessage, clearEndMessage } = useSession();
  const navigate = useNavigate();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.login(email.trim(), password);
      clearEndMessage();
      navigate(next, { replace: true });
    } catch (err) {
      setError(signInErrorMessage(toApiError(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box component="main" sx={{ minHeight: '100vh', display: 'grid', placeItems: 'center', p: 2, bgcolor: 'grey.100' }}>
      <Card sx={{ width: '100%', maxWidth: 400 }}>
        <CardContent>
          <Typography variant="h5" component="h1" gutterBottom>
            Sign in to Platform SM
          </Typography>
          <Stack component="form" spacing={2} onSubmit={submit} noValidate>
            {endMessage && <Alert severity="warning">{endMessage}</Alert>}
            {error && <Alert severity="error">{error}</Alert>}
            <TextField label="Email" type="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
            <TextField
              label="Password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <Button type="submit" variant="contained" size="large" disabled={busy || !email || !password}>
              {busy ? 'Signing in…' : 'Sign in'}
            </Button>
            <Typography variant="body2" color="text.secondary">
              No account? Ask an administrator of your platform to create one.
            </Typography>
          </Stack>
        </CardContent>
      </Card>
    </Box>
  );
}
