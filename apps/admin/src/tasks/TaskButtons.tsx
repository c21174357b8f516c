import DownloadIcon from '@mui/icons-material/Download';
import ReplayIcon from '@mui/icons-material/Replay';
import CancelIcon from '@mui/icons-material/Cancel';
import { useMutation } from '@tanstack/react-query';
import { Button, useDataProvider, useNotify, useRecordContext, useRefresh } from 'react-admin';
import type { PlatformMethods } from '../dataProvider';

function useTaskAction(action: 'retry' | 'cancel') {
  const task = useRecordContext();
  const dataProvider = useDataProvider() as unknown as PlatformMethods;
  const notify = useNotify();
  const refresh = useRefresh();
  return useMutation({
    mutationFn: () => dataProvider.taskAction(task!.id, action),
    onSuccess: () => {
      notify(action === 'retry' ? 'Task queued again' : 'Task cancelled', { type: 'info' });
      refresh();
    },
    onError: (e: Error) => notify(e.message, { type: 'error' }),
  });
}

/** Dead, failed or cancelled tasks can be run again. */
export function RetryTaskButton() {
  const task = useRecordContext();
  const { mutate, isPending } = useTaskAction('retry');
  if (!task || !['dead', 'failed', 'cancelled'].includes(String(task.status))) return null;
  return (
    <Button label="Retry" onClick={(e) => (e.stopPropagation(), mutate())} disabled={isPending}>
      <ReplayIcon />
    </Button>
  );
}

/** Queued tasks can be cancelled. */
export function CancelTaskButton() {
  const task = useRecordContext();
  const { mutate, isPending } = useTaskAction('cancel');
  if (!task || task.status !== 'queued') return null;
  return (
    <Button label="Cancel" onClick={(e) => (e.stopPropagation(), mutate())} disabled={isPending}>
      <CancelIcon />
    </Button>
  );
}

/** The document of a succeeded export, saved as a file. */
export function DownloadExportButton() {
  const task = useRecordContext();
  const dataProvider = useDataProvider() as unknown as PlatformMethods;
  const notify = useNotify();
  const { mutate, isPending } = useMutation({
    mutationFn: () => dataProvider.downloadExport(task!.id),
    onSuccess: ({ blob, filename }) => {
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    },
    onError: (e: Error) => notify(e.message, { type: 'error' }),
  });
  if (!task || task.kind !== 'project.export' || task.status !== 'succeeded') return null;
  return (
    <Button label="Download export" onClick={(e) => (e.stopPropagation(), mutate())} disabled={isPending}>
      <DownloadIcon />
    </Button>
  );
}
