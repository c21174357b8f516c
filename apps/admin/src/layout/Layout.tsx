import { Chip, Tooltip } from '@mui/material';
import type { ReactNode } from 'react';
import { AppBar, Layout as RaLayout, TitlePortal, useGetIdentity } from 'react-admin';
import { SignOutWhenSessionEnds, useLiveChannels, useLiveState } from '../live/LiveProvider';

function LiveIndicator() {
  const state = useLiveState();
  const label = state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline';
  return (
    <Tooltip title={state === 'open' ? 'Changes made elsewhere appear here as they happen' : 'Reconnecting to live updates'}>
      <Chip size="small" label={label} color={state === 'open' ? 'success' : 'default'} sx={{ mr: 1 }} />
    </Tooltip>
  );
}

const PanelAppBar = () => (
  <AppBar>
    <TitlePortal />
    <LiveIndicator />
  </AppBar>
);

/** What concerns the signed-in user (memberships, their tasks) is live on every screen. */
function UserChannel() {
  const { identity } = useGetIdentity();
  useLiveChannels([identity ? `user:${identity.id}` : null]);
  return null;
}

export function Layout({ children }: { children: ReactNode }) {
  return (
    <RaLayout appBar={PanelAppBar}>
      <UserChannel />
      <SignOutWhenSessionEnds />
      {children}
    </RaLayout>
  );
}

