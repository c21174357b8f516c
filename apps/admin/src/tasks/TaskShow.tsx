import {
  ChipField,
  DateField,
  FunctionField,
  ReferenceField,
  Show,
  SimpleShowLayout,
  TextField,
  TopToolbar,
  useRecordContext,
} from 'react-admin';
import { JsonValue, notFoundProps } from '../common';
import { useLiveChannels } from '../live/LiveProvider';
import { TaskProgressField } from './TaskFields';
import { CancelTaskButton, DownloadExportButton, RetryTaskButton } from './TaskButtons';

const Actions = () => (
  <TopToolbar>
    <DownloadExportButton />
    <RetryTaskButton />
    <CancelTaskButton />
  </TopToolbar>
);

/** A task's events go to its creator's channel and its project's. */
function TaskChannels() {
  const task = useRecordContext();
  useLiveChannels([task?.project_id ? `project:${task.project_id}` : null]);
  return null;
}

export const TaskShow = () => (
  <Show actions={<Actions />} title="Task" {...notFoundProps('Task')}>
    <SimpleShowLayout>
      <TaskChannels />
      <TextField source="kind" />
      <ChipField source="status" size="small" />
      <TaskProgressField label="Progress" />
      <FunctionField label="Attempts" render={(t) => `${t.attempts} of ${t.max_attempts}`} />
      <ReferenceField source="project_id" reference="projects" link="show" emptyText="—">
        <TextField source="name" />
      </ReferenceField>
      <FunctionField label="Result" render={(t) => (t.result == null ? '—' : <JsonValue value={t.result} />)} />
      <TextField source="last_error" emptyText="—" />
      <DateField source="run_at" showTime />
      <DateField source="created_at" showTime />
      <DateField source="updated_at" showTime />
    </SimpleShowLayout>
  </Show>
);
