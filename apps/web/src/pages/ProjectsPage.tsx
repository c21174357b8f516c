import AddIcon from '@mui/icons-material/Add';
import {
  Alert,
  Box,
  Button,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  List,
  ListItemButton,
  ListItemText,
  Paper,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import {
  CreateProjectDocument,
  ProjectsDocument,
  toApiError,
  type ProjectOrderField,
  type SortDirection,
} from '@platform-sm/client';

import { ErrorMessage, Loading, RefreshWarning, useKeptData } from '../components/QueryState.tsx';
import { roleLabel } from '../format.ts';
import { useMembershipsRevision } from '../live/LiveProvider.tsx';
import { useMe } from '../context.ts';

const SORTS: Record<string, { label: string; field: ProjectOrderField; direction: SortDirection }> = {
  name: { label: 'Name', field: 'NAME', direction: 'ASC' },
  updated: { label: 'Recently updated', field: 'UPDATED_AT', direction: 'DESC' },
  created: { label: 'Newest', field: 'CREATED_AT', direction: 'DESC' },
};

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function ProjectsPage() {
  const me = useMe();
  const navigate = useNavigate();
  const location = useLocation();
  const notice = (location.state as { notice?: string } | null)?.notice;
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState('name');
  const [first, setFirst] = useState(50);
  const [creating, setCreating] = useState(false);
  const q = useDebounced(search.trim(), 250);
  const order = SORTS[sort]!;
  const [result, refetch] = useQuery({
    query: ProjectsDocument,
    // Non-admins see exactly their projects; admins see every project (ProjectFilter.memberId is
    // refused by core-svc today, see apps/README.md).
    variables: { first, filter: q ? { search: q } : {}, orderBy: { field: order.field, direction: order.direction } },
    requestPolicy: 'cache-and-network',
  });
  const kept = useKeptData(result, JSON.stringify([q, sort, first]));
  const projects = kept.data?.projects;
  // Added to (or removed from) a project by someone else: the list follows.
  const memberships = useMembershipsRevision();
  const seen = useRef(memberships);
  useEffect(() => {
    if (memberships !== seen.current) refetch({ requestPolicy: 'network-only' });
    seen.current = memberships;
  }, [memberships, refetch]);

  return (
    <Stack spacing={2}>
      {notice && (
        <Alert severity="warning" role="alert">
          {notice}
        </Alert>
      )}
      <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between' }}>
        <Typography variant="h4" component="h1">
          {me.role === 'ADMIN' ? 'All projects' : 'My projects'}
        </Typography>
        <Button variant="contained" startIcon={<AddIcon />} onClick={() => setCreating(true)}>
          New project
        </Button>
      </Stack>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1}>
        <TextField label="Search projects" type="search" value={search} onChange={(e) => setSearch(e.target.value)} sx={{ flexGrow: 1 }} />
        <TextField select label="Sort by" value={sort} onChange={(e) => setSort(e.target.value)} sx={{ minWidth: 200 }} slotProps={{ select: { native: true } }}>
          {Object.entries(SORTS).map(([k, s]) => (
            <option key={k} value={k}>
              {s.label}
            </option>
          ))}
        </TextField>
      </Stack>
      <RefreshWarning error={kept.refreshError} retry={() => refetch({ requestPolicy: 'network-only' })} />
      {result.error && !projects ? (
        <ErrorMessage error={result.error} retry={() => refetch({ requestPolicy: 'network-only' })} />
      ) : !projects ? (
        <Loading label="Loading projects" />
      ) : projects.nodes.length === 0 ? (
        <Paper variant="outlined" sx={{ p: 3, textAlign: 'center' }}>
          <Typography>{q ? `No project matches “${q}”.` : 'You are not a member of any project yet. Create one, or ask an owner to add you.'}</Typography>
        </Paper>
      ) : (
        <Paper variant="outlined">
          <List aria-label="Projects" disablePadding>
            {projects.nodes.map((p) => (
              <ListItemButton key={p.id} divider onClick={() => navigate(`/projects/${p.id}`)}>
                <ListItemText
                  primary={p.name}
                  secondary={`${p.slug}${p.description ? ` · ${p.description}` : ''}`}
                  slotProps={{ secondary: { noWrap: true } }}
                />
                <Stack direction="row" spacing={1} sx={{ ml: 1, flexShrink: 0 }}>
                  {p.status === 'ARCHIVED' && <Chip size="small" label="Archived" />}
                  <Chip size="small" variant="outlined" label={roleLabel(p.myRole)} />
                </Stack>
              </ListItemButton>
            ))}
          </List>
        </Paper>
      )}
      {projects && (
        <Box sx={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
          <Typography variant="body2" color="text.secondary">
            {projects.totalCount} project{projects.totalCount === 1 ? '' : 's'}
          </Typography>
          {projects.pageInfo.hasNextPage && <Button onClick={() => setFirst((n) => n + 50)}>Show more</Button>}
        </Box>
      )}
      <CreateProjectDialog open={creating} onClose={() => setCreating(false)} onCreated={(id) => navigate(`/projects/${id}`)} />
    </Stack>
  );
}

export function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

function CreateProjectDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (id: string) => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [description, setDescription] = useState('');
  const [state, create] = useMutation(CreateProjectDocument);
  const [error, setError] = useState<ReturnType<typeof toApiError> | null>(null);
  const effectiveSlug = slugEdited ? slug : slugify(name);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const r = await create({ input: { name: name.trim(), slug: effectiveSlug, description: description.trim() } });
    if (r.error) {
      setError(toApiError(r.error));
      return;
    }
    if (r.data) {
      setName('');
      setSlug('');
      setSlugEdited(false);
      setDescription('');
      onClose();
      onCreated(r.data.createProject.id);
    }
  };
  const slugError = error?.fieldError('slug') ?? (error?.code === 'CONFLICT' ? 'This slug is taken.' : undefined);
  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm">
      <form onSubmit={submit} noValidate>
        <DialogTitle>New project</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            {error && !slugError && !error.fieldError('name') && <Alert severity="error">{error.userMessage}</Alert>}
            <TextField label="Name" required autoFocus value={name} onChange={(e) => setName(e.target.value)} error={!!error?.fieldError('name')} helperText={error?.fieldError('name')} />
            <TextField
              label="Slug"
              required
              value={effectiveSlug}
              onChange={(e) => {
                setSlugEdited(true);
                setSlug(e.target.value);
              }}
              error={!!slugError}
              helperText={slugError ?? 'Lower-case letters, digits and dashes; used in URLs and exports.'}
            />
            <TextField label="Description" multiline minRows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
          </Stack>
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={state.fetching || !name.trim() || !effectiveSlug}>
            Create project
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
