import type { PlatformMethods } from '../dataProvider';
import ArchiveIcon from '@mui/icons-material/Archive';
import UnarchiveIcon from '@mui/icons-material/Unarchive';
import DownloadIcon from '@mui/icons-material/Download';
import {
  Button,
  DeleteWithConfirmButton,
  useCanAccess,
  useDataProvider,
  useNotify,
  useRecordContext,
  useRedirect,
  useRefresh,
} from 'react-admin';
import { useMutation } from '@tanstack/react-query';

/** Archive / unarchive (owners): POST /projects/{id}/archive|unarchive. */
export function ArchiveButton() {
  const record = useRecordContext();
  const { canAccess } = useCanAccess({ resource: 'projects', action: 'edit', record });
  const dataProvider = useDataProvider() as unknown as PlatformMethods;
  const notify = useNotify();
  const refresh = useRefresh();
  const archived = record?.status === 'archived';
  const { mutate, isPending } = useMutation({
    mutationFn: () => dataProvider.projectAction(record!.id, archived ? 'unarchive' : 'archive'),
    onSuccess: () => {
      notify(archived ? 'Project unarchived' : 'Project archived', { type: 'info' });
      refresh();
    },
    onError: (e: Error) => notify(e.message, { type: 'error' }),
  });
  if (!record || !canAccess) return null;
  return (
    <Button label={archived ? 'Unarchive' : 'Archive'} onClick={() => mutate()} disabled={isPending}>
      {archived ? <UnarchiveIcon /> : <ArchiveIcon />}
    </Button>
  );
}

export function DeleteProjectButton() {
  const record = useRecordContext();
  const { canAccess } = useCanAccess({ resource: 'projects', action: 'delete', record });
  if (!record || !canAccess) return null;
  return (
    <DeleteWithConfirmButton
      confirmTitle={`Delete project ${record?.name ?? ''}?`}
      confirmContent="Its members, configs, history and webhooks are deleted with it. This cannot be undone."
      mutationMode="pessimistic"
    />
  );
}

/** Export (owners): queues a project.export task and opens it; the task page offers the download. */
export function ExportButton() {
  const record = useRecordContext();
  const { canAccess } = useCanAccess({ resource: 'projects', action: 'delete', record });
  const dataProvider = useDataProvider() as unknown as PlatformMethods;
  const notify = useNotify();
  const redirect = useRedirect();
  const { mutate, isPending } = useMutation({
    mutationFn: () => dataProvider.exportProject(record!.id),
    onSuccess: ({ data }) => {
      notify('Export queued', { type: 'info' });
      redirect('show', 'tasks', data.id);
    },
    onError: (e: Error) => notify(e.message, { type: 'error' }),
  });
  if (!record || !canAccess) return null;
  return (
    <Button label="Export" onClick={() => mutate()} disabled={isPending}>
      <DownloadIcon />
    </Button>
  );
}
