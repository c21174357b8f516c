import AccountCircle from '@mui/icons-material/AccountCircle';
import { AppBar, Box, Chip, Container, IconButton, Link, Menu, MenuItem, Toolbar, Tooltip, Typography } from '@mui/material';
import { useState, type ReactNode } from 'react';
import { Link as RouterLink, useNavigate } from 'react-router';
import { useMe, useServices } from '../context.ts';
import { useConnectionStatus } from '../live/LiveProvider.tsx';
import { NoticeProvider } from './Notices.tsx';

function ConnectionChip() {
  const status = useConnectionStatus();
  if (status === 'open') return <Chip size="small" color="success" label="Live" aria-label="Live updates on" />;
  if (status === 'connecting' || status === 'idle') return <Chip size="small" variant="outlined" label="Connecting…" />;
  return (
    <Tooltip title="Changes made meanwhile will appear when the connection is back">
      <Chip size="small" color="warning" label="Reconnecting…" role="status" aria-label="Live updates reconnecting" />
    </Tooltip>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const me = useMe();
  const { session } = useServices();
  const navigate = useNavigate();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  return (
    <NoticeProvider>
      <AppBar position="sticky" elevation={1}>
        <Toolbar sx={{ gap: 1 }}>
          <Link component={RouterLink} to="/projects" color="inherit" underline="none" sx={{ flexGrow: 1 }}>
            <Typography variant="h6" component="span" noWrap>
              Platform SM
            </Typography>
          </Link>
          <ConnectionChip />
          <IconButton color="inherit" aria-label="Account menu" aria-haspopup="menu" onClick={(e) => setAnchor(e.currentTarget)}>
            <AccountCircle />
          </IconButton>
          <Menu anchorEl={anchor} open={anchor !== null} onClose={() => setAnchor(null)}>
            <MenuItem disabled>{me.name}</MenuItem>
            <MenuItem
              onClick={() => {
                setAnchor(null);
                navigate('/account');
              }}
            >
              Account and API tokens
            </MenuItem>
            <MenuItem
              onClick={() => {
                setAnchor(null);
                void session.logout();
              }}
            >
              Sign out
            </MenuItem>
          </Menu>
        </Toolbar>
      </AppBar>
      <Container component="main" maxWidth="md" sx={{ py: { xs: 2, sm: 3 }, px: { xs: 1.5, sm: 3 } }}>
        <Box>{children}</Box>
      </Container>
    </NoticeProvider>
  );
}
