import ArchiveIcon from '@mui/icons-material/Inventory2Outlined';
import UnarchiveIcon from '@mui/icons-material/UnarchiveOutlined';
import { Alert, Box, Button, Chip, Stack, Tab, Tabs, Typography } from '@mui/material';
import { useState } from 'react';
import { Link as RouterLink, useParams } from 'react-router';
import { useMutation } from 'urql';
import { ArchiveProjectDocument, UnarchiveProjectDocument, toApiError } from '@platform-sm/client';
import { roleLabel } from '../format.ts';
import { ActivityPanel } from './ActivityPanel.tsx';
import { ConfigsPanel } from './ConfigsPanel.tsx';
import { MembersPanel } from './MembersPanel.tsx';
import { useProject } from './ProjectScope.tsx';

const TABS = [
  { id: 'configs', label: 'Configs' },
  { id: 'activity', label: 'Activity' },
  { id: 'members', label: 'Members' },
] as const;

export function ProjectPage() {
  const { tab = 'configs' } = useParams();
  const { project, isOwner } = useProject();
  const current = TABS.some((t) => t.id === tab) ? tab : 'configs';
  const archived = project.status === 'ARCHIVED';
  return (
    <Stack spacing={2}>
      <Box>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap', rowGap: 1 }}>
          <Typography variant="h4" component="h1" sx={{ wordBreak: 'break-word' }}>
            {project.name}
          </Typography>
          <Chip size="small" variant="outlined" label={`You: ${roleLabel(project.myRole)}`} />
          {archived && <Chip size="small" color="warning" label="Archived" />}
          <Box sx={{ flexGrow: 1 }} />
          {isOwner && <ArchiveButton />}
        </Stack>
        <Typography color="text.secondary">
          {project.slug}
          {project.description ? ` · ${project.description}` : ''}
        </Typography>
      </Box>
      {archived && <Alert severity="info">This project is archived: it is read-only until an owner unarchives it.</Alert>}
      <Box sx={{ borderBottom: 1, borderColor: 'divider' }}>
        <Tabs value={current} variant="scrollable" allowScrollButtonsMobile aria-label="Project sections">
          {TABS.map((t) => (
            <Tab key={t.id} value={t.id} label={t.label} component={RouterLink} to={`/projects/${project.id}/${t.id}`} />
          ))}
        </Tabs>
      </Box>
      {current === 'configs' && <ConfigsPanel />}
      {current === 'activity' && <ActivityPanel />}
      {current === 'members' && <MembersPanel />}
    </Stack>
  );
}

function ArchiveButton() {
  const { project } = useProject();
  const archived = project.status === 'ARCHIVED';
  const [archiveState, archive] = useMutation(ArchiveProjectDocument);
  const [unarchiveState, unarchive] = useMutation(UnarchiveProjectDocument);
  const [error, setError] = useState<string | null>(null);
  const busy = archiveState.fetching || unarchiveState.fetching;
  const run = async () => {
    setError(null);
    const r = archived ? await unarchive({ id: project.id }) : await archive({ id: project.id });
    if (r.error) setError(toApiError(r.error).userMessage);
  };
  return (
    <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
      {error && (
        <Typography color="error" variant="body2" role="alert">
          {error}
        </Typography>
      )}
      <Button variant="outlined" size="small" disabled={busy} onClick={run} startIcon={archived ? <UnarchiveIcon /> : <ArchiveIcon />}>
        {archived ? 'Unarchive' : 'Archive'}
      </Button>
    </Stack>
  );
}
