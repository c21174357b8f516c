import {
  ChipField,
  CreateButton,
  DatagridConfigurable,
  DateField,
  ExportButton,
  List,
  SearchInput,
  SelectColumnsButton,
  SelectInput,
  TextField,
  TopToolbar,
  useListContext,
} from 'react-admin';
import { useIsAdmin } from '../common';
import { useLiveChannels } from '../live/LiveProvider';

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <SelectInput
    key="status"
    source="status"
    choices={[
      { id: 'active', name: 'Active' },
      { id: 'archived', name: 'Archived' },
    ]}
  />,
];

/** Admins follow every change (`admin`); members follow the projects on the page. */
function LiveProjects() {
  const admin = useIsAdmin();
  const { data } = useListContext();
  useLiveChannels(admin ? ['admin'] : (data ?? []).map((p) => `project:${p.id}`));
  return null;
}

const Actions = () => (
  <TopToolbar>
    <SelectColumnsButton />
    <CreateButton />
    <ExportButton />
  </TopToolbar>
);

export const ProjectList = () => (
  <List filters={filters} sort={{ field: 'name', order: 'ASC' }} actions={<Actions />}>
    <LiveProjects />
    <DatagridConfigurable rowClick="show" bulkActionButtons={false}>
      <TextField source="name" />
      <TextField source="slug" />
      <ChipField source="status" size="small" />
      <TextField source="my_role" label="My role" sortable={false} />
      <DateField source="updated_at" showTime />
    </DatagridConfigurable>
  </List>
);
