import { ChipField, Datagrid, DateField, List, ReferenceField, SelectInput, TextField, TextInput } from 'react-admin';
import { useIsAdmin } from '../common';
import { useLiveChannels } from '../live/LiveProvider';
import { TaskProgressField } from './TaskFields';
import { CancelTaskButton, DownloadExportButton, RetryTaskButton } from './TaskButtons';

export const taskStatusChoices = ['queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled'].map((s) => ({
  id: s,
  name: s,
}));

const filters = [
  <SelectInput key="status" source="status" choices={taskStatusChoices} alwaysOn />,
  <TextInput key="kind" source="kind" label="Kind (e.g. project.export)" />,
];

/** Admins see every task (the `admin` channel); others their own (`user:<id>`, always live). */
function LiveTasks() {
  useLiveChannels([useIsAdmin() ? 'admin' : null]);
  return null;
}

export const TaskList = () => (
  <List filters={filters} sort={{ field: 'created_at', order: 'DESC' }}>
    <LiveTasks />
    <Datagrid bulkActionButtons={false} rowClick="show">
      <TextField source="kind" sortable={false} />
      <ChipField source="status" size="small" sortable={false} />
      <TaskProgressField label="Progress" />
      <TextField source="attempts" sortable={false} />
      <ReferenceField source="project_id" reference="projects" link="show" sortable={false} emptyText="—">
        <TextField source="name" />
      </ReferenceField>
      <DateField source="created_at" showTime />
      <DownloadExportButton />
      <RetryTaskButton />
      <CancelTaskButton />
    </Datagrid>
  </List>
);
