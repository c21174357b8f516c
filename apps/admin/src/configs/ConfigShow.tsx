import HistoryIcon from '@mui/icons-material/History';
import { Box, Typography } from '@mui/material';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import {
  Confirm,
  Datagrid,
  DateField,
  EditButton,
  FunctionField,
  Labeled,
  Pagination,
  ReferenceField,
  ReferenceManyField,
  Show,
  SimpleShowLayout,
  TextField,
  TopToolbar,
  useCanAccess,
  useDataProvider,
  useNotify,
  useRecordContext,
  useRefresh,
  Button,
} from 'react-admin';
import { notFoundProps, JsonValue } from '../common';
import type { PlatformMethods } from '../dataProvider';
import { useLiveChannels } from '../live/LiveProvider';
import { diffLines, pretty } from './diff';

/** This revision's value against the config's current one: what a rollback would change. */
function RevisionDiff({ current }: { current: Record<string, unknown> }) {
  const revision = useRecordContext();
  if (!revision) return null;
  const lines = diffLines(pretty(current.deleted_at ? undefined : current.value), pretty(revision.value));
  const changed = lines.some((l) => l.op !== ' ');
  return (
    <Box sx={{ p: 1 }}>
      <Typography variant="caption" component="p">
        {changed
          ? `Rolling back to version ${String(revision.version)} changes the current value (version ${String(current.version)}) like this:`
          : `Version ${String(revision.version)} has the current value.`}
      </Typography>
      <pre aria-label={`Diff of version ${String(revision.version)}`} style={{ margin: 0, fontSize: 13 }}>
        {lines.map((l, i) => (
          <div
            key={i}
            style={{ background: l.op === '+' ? '#e6ffed' : l.op === '-' ? '#ffeef0' : undefined, whiteSpace: 'pre-wrap' }}
          >
            {`${l.op} ${l.text}`}
          </div>
        ))}
      </pre>
    </Box>
  );
}

function RollbackButton({ config }: { config: Record<string, unknown> }) {
  const revision = useRecordContext();
  const { canAccess } = useCanAccess({ resource: 'configs', action: 'edit', record: config });
  const dataProvider = useDataProvider() as unknown as PlatformMethods;
  const notify = useNotify();
  const refresh = useRefresh();
  const [open, setOpen] = useState(false);
  const { mutate, isPending } = useMutation({
    mutationFn: () => dataProvider.rollbackConfig(config.id, Number(revision!.version), Number(config.version)),
    onSuccess: ({ data }) => {
      notify(`Rolled back to version ${String(revision!.version)}; the config is now at version ${String(data.version)}.`, {
        type: 'info',
      });
      refresh();
    },
    onError: (e: Error) => notify(e.message, { type: 'error' }),
    onSettled: () => setOpen(false),
  });
  if (!revision || !canAccess || revision.version === config.version) return null;
  return (
    <>
      <Button label="Roll back" onClick={(e) => (e.stopPropagation(), setOpen(true))} disabled={isPending}>
        <HistoryIcon />
      </Button>
      <Confirm
        isOpen={open}
        loading={isPending}
        title={`Roll back ${String(config.key)} to version ${String(revision.version)}?`}
        content="This writes a new version with that version's value. The history keeps everything."
        onConfirm={() => mutate()}
        onClose={() => setOpen(false)}
      />
    </>
  );
}

function History() {
  const config = useRecordContext();
  if (!config) return null;
  return (
    <Labeled label="History" fullWidth>
      <ReferenceManyField
        reference="config-revisions"
        target="config_id"
        sort={{ field: 'version', order: 'DESC' }}
        perPage={10}
        pagination={<Pagination />}
      >
        <Datagrid bulkActionButtons={false} expand={<RevisionDiff current={config} />} rowClick="expand">
          <TextField source="version" sortable={false} />
          <TextField source="op" sortable={false} />
          <FunctionField label="Value" render={(r) => <JsonValue value={r.value} />} />
          <ReferenceField source="author_id" reference="users" label="By" link={false} sortable={false}>
            <TextField source="email" />
          </ReferenceField>
          <DateField source="created_at" showTime sortable={false} />
          <RollbackButton config={config} />
        </Datagrid>
      </ReferenceManyField>
    </Labeled>
  );
}

function ProjectChannel() {
  const record = useRecordContext();
  useLiveChannels([record?.project_id ? `project:${record.project_id}` : null]);
  return null;
}

const Title = () => {
  const record = useRecordContext();
  return <span>{record ? `Config ${record.key}` : 'Config'}</span>;
};

export const ConfigShow = () => (
  <Show
    title={<Title />}
    actions={
      <TopToolbar>
        <EditButton />
      </TopToolbar>
    }
    {...notFoundProps('Config')}
  >
    <SimpleShowLayout>
      <ProjectChannel />
      <ReferenceField source="project_id" reference="projects" link="show">
        <TextField source="name" />
      </ReferenceField>
      <TextField source="key" />
      <FunctionField label="Value" render={(r) => <JsonValue value={r.value} />} />
      <TextField source="description" emptyText="—" />
      <TextField source="version" />
      <ReferenceField source="updated_by" reference="users" link={false}>
        <TextField source="email" />
      </ReferenceField>
      <DateField source="updated_at" showTime />
      <History />
    </SimpleShowLayout>
  </Show>
);
