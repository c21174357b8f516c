import { Alert, Box, Button, Card, CardContent, Stack, TextField, Typography } from '@mui/material';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { signInErrorMessage, signUpErrorMessage, toApiError, type ApiError } from '@platform-sm/client';
import { useServices, useSession } from '../context.ts';

export function SignInPage({ next }: { next: string }) {
  const { session } = useServices();
  const { endMessage, clearEndMessage } = useSession();
  const navigate = useNavigate();
  // Sign-up is offered to everyone; the platform refuses it unless an admin turned it on
  // (setting auth.signup_enabled), and the page then says so.
  const [mode, setMode] = useState<'sign-in' | 'sign-up'>('sign-in');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const signingUp = mode === 'sign-up';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldErrors(null);
    try {
      if (signingUp) await session.signUp(email.trim(), name.trim(), password);
      else await session.login(email.trim(), password);
      clearEndMessage();
      navigate(next, { replace: true });
    } catch (err) {
      const apiError = toApiError(err);
      if (!signingUp) {
        setError(signInErrorMessage(apiError));
      } else if (apiError.details.fieldViolations?.length) {
        setFieldErrors(apiError);
      } else {
        setError(signUpErrorMessage(apiError));
      }
    } finally {
      setBusy(false);
    }
  };
  const switchTo = (m: typeof mode) => {
    setMode(m);
    setError(null);
    setFieldErrors(null);
  };
  const fieldError = (field: string) => fieldErrors?.fieldError(field);

  return (
    <Box component="main" sx={{ minHeight: '100vh', display: 'grid', placeItems: 'center', p: 2, bgcolor: 'grey.100' }}>
      <Card sx={{ width: '100%', maxWidth: 400 }}>
        <CardContent>
          <Typography variant="h5" component="h1" gutterBottom>
            {signingUp ? 'Create your Platform SM account' : 'Sign in to Platform SM'}
          </Typography>
          <Stack component="form" spacing={2} onSubmit={submit} noValidate>
            {endMessage && !signingUp && <Alert severity="warning">{endMessage}</Alert>}
            {error && <Alert severity="error">{error}</Alert>}
            {signingUp && (
              <TextField
                label="Name"
                autoComplete="name"
                required
                autoFocus
                value={name}
                onChange={(e) => setName(e.target.value)}
                error={!!fieldError('name')}
                helperText={fieldError('name')}
              />
            )}
            <TextField
              label="Email"
              type="email"
              autoComplete="username"
              required
              autoFocus={!signingUp}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              error={!!fieldError('email')}
              helperText={fieldError('email')}
            />
            <TextField
              label="Password"
              type="password"
              autoComplete={signingUp ? 'new-password' : 'current-password'}
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={!!fieldError('password')}
              helperText={fieldError('password')}
            />
            <Button type="submit" variant="contained" size="large" disabled={busy || !email || !password || (signingUp && !name.trim())}>
              {signingUp ? (busy ? 'Creating your account…' : 'Create account') : busy ? 'Signing in…' : 'Sign in'}
            </Button>
            {signingUp ? (
              <Button variant="text" onClick={() => switchTo('sign-in')}>
                I have an account: sign in
              </Button>
            ) : (
              <Button variant="text" onClick={() => switchTo('sign-up')}>
                No account? Create one
              </Button>
            )}
          </Stack>
        </CardContent>
      </Card>
    </Box>
  );
}
