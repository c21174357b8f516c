import { Login, LoginForm } from 'react-admin';
import { Typography } from '@mui/material';

export function LoginPage() {
  return (
    <Login>
      <Typography variant="h6" align="center" sx={{ mt: 1 }}>
        Platform SM
      </Typography>
      <LoginForm />
    </Login>
  );
}
