import {
  ChipField,
  CreateButton,
  Datagrid,
  DateField,
  EditButton,
  FunctionField,
  Pagination,
  ReferenceField,
  ReferenceManyField,
  Show,
  ShowButton,
  TabbedShowLayout,
  TextField,
  TopToolbar,
  useRecordContext,
} from 'react-admin';
import { useParams } from 'react-router-dom';
import { GuardedDelete, JsonValue, notFoundProps } from '../common';
import { useLiveChannels } from '../live/LiveProvider';
import { TaskProgressField } from '../tasks/TaskFields';
import { ArchiveButton, DeleteProjectButton, ExportButton } from './ProjectButtons';

const RANK = { viewer: 0, editor: 1, owner: 2 } as const;
type Role = keyof typeof RANK;

/** The caller's role in the project in context (admins are owners everywhere). */
function useMyRole(): Role | null {
  const record = useRecordContext();
  return (record?.my_role as Role | undefined) ?? null;
}

function IfRole({ atLeast, children }: { atLeast: Role; children: React.ReactNode }) {
  const role = useMyRole();
  return role && RANK[role] >= RANK[atLeast] ? <>{children}</> : null;
}

const ShowActions = () => (
  <TopToolbar>
    <ExportButton />
    <ArchiveButton />
    <EditButton />
    <DeleteProjectButton />
  </TopToolbar>
);

const ProjectTitle = () => {
  const record = useRecordContext();
  return <span>{record ? `Project ${record.name}` : 'Project'}</span>;
};

function AddButton({ resource, label }: { resource: string; label: string }) {
  const record = useRecordContext();
  if (!record) return null;
  return <CreateButton resource={resource} label={label} state={{ record: { project_id: record.id } }} />;
}

export const ProjectShow = () => {
  const { id } = useParams();
  useLiveChannels([id ? `project:${id}` : null]);
  return (
    <Show actions={<ShowActions />} title={<ProjectTitle />} {...notFoundProps('Project')}>
      <TabbedShowLayout>
        <TabbedShowLayout.Tab label="Overview">
          <TextField source="name" />
          <TextField source="slug" />
          <TextField source="description" emptyText="—" />
          <ChipField source="status" size="small" />
          <ReferenceField source="owner_id" reference="users" label="Owner" link={false}>
            <TextField source="email" />
          </ReferenceField>
          <TextField source="my_role" label="My role" />
          <TextField source="version" />
          <DateField source="created_at" showTime />
          <DateField source="updated_at" showTime />
        </TabbedShowLayout.Tab>
        <TabbedShowLayout.Tab label="Members" path="members">
          <IfRole atLeast="owner">
            <AddButton resource="members" label="Add member" />
          </IfRole>
          <ReferenceManyField reference="members" target="project_id" sort={{ field: 'created_at', order: 'ASC' }} label={false} pagination={<Pagination />}>
            <Datagrid bulkActionButtons={false} rowClick={false}>
              <ReferenceField source="user_id" reference="users" label="User" link={false} sortable={false}>
                <TextField source="email" />
              </ReferenceField>
              <TextField source="role" />
              <DateField source="created_at" label="Member since" />
              <EditButton label="Change role" />
              <GuardedDelete
                resource="members"
                label="Remove"
                mutationMode="pessimistic"
                confirmTitle="Remove this member?"
                confirmContent="They lose access to the project at once."
                redirect={false}
              />
            </Datagrid>
          </ReferenceManyField>
        </TabbedShowLayout.Tab>
        <TabbedShowLayout.Tab label="Configs" path="configs">
          <IfRole atLeast="editor">
            <AddButton resource="configs" label="Add config" />
          </IfRole>
          <ReferenceManyField reference="configs" target="project_id" sort={{ field: 'key', order: 'ASC' }} label={false} perPage={25} pagination={<Pagination />}>
            <Datagrid bulkActionButtons={false} rowClick="show">
              <TextField source="key" />
              <FunctionField label="Value" render={(r) => <JsonValue value={r.value} />} />
              <TextField source="version" />
              <DateField source="updated_at" showTime />
              <ShowButton label="History" />
              <EditButton />
            </Datagrid>
          </ReferenceManyField>
        </TabbedShowLayout.Tab>
        <TabbedShowLayout.Tab label="Webhooks" path="webhooks">
          <IfRole atLeast="owner">
            <AddButton resource="webhooks" label="Add webhook" />
            <ReferenceManyField reference="webhooks" target="project_id" sort={{ field: 'created_at', order: 'DESC' }} label={false} pagination={<Pagination />}>
              <Datagrid bulkActionButtons={false} rowClick="show">
                <TextField source="url" />
                <FunctionField label="Events" sortable={false} render={(r) => (r.event_types as string[]).join(', ')} />
                <FunctionField label="Active" sortable={false} render={(r) => (r.active ? 'yes' : 'no')} />
                <EditButton />
              </Datagrid>
            </ReferenceManyField>
          </IfRole>
          <IfNotOwner />
        </TabbedShowLayout.Tab>
        <TabbedShowLayout.Tab label="Audit log" path="events">
          <ReferenceManyField
            reference="events"
            target="project_id"
            sort={{ field: 'seq', order: 'DESC' }}
            label={false}
            perPage={25}
            pagination={<Pagination />}
          >
            <Datagrid bulkActionButtons={false} rowClick="show">
              <TextField source="seq" />
              <TextField source="type" sortable={false} />
              <ReferenceField source="actor_id" reference="users" label="By" link={false} sortable={false}>
                <TextField source="email" />
              </ReferenceField>
              <DateField source="occurred_at" showTime />
            </Datagrid>
          </ReferenceManyField>
        </TabbedShowLayout.Tab>
        <TabbedShowLayout.Tab label="Tasks" path="tasks">
          <ReferenceManyField reference="tasks" target="project_id" sort={{ field: 'created_at', order: 'DESC' }} label={false} pagination={<Pagination />}>
            <Datagrid bulkActionButtons={false} rowClick="show">
              <TextField source="kind" sortable={false} />
              <ChipField source="status" size="small" sortable={false} />
              <TaskProgressField label="Progress" />
              <DateField source="created_at" showTime />
            </Datagrid>
          </ReferenceManyField>
        </TabbedShowLayout.Tab>
      </TabbedShowLayout>
    </Show>
  );
};

function IfNotOwner() {
  const role = useMyRole();
  return role === 'owner' ? null : <p>Only the project's owners see and manage its webhooks.</p>;
}

