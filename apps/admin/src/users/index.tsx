import PeopleIcon from '@mui/icons-material/People';
import {
  ChipField,
  Create,
  Datagrid,
  DateField,
  EditButton,
  List,
  PasswordInput,
  SearchInput,
  SelectInput,
  Show,
  SimpleForm,
  SimpleShowLayout,
  TextField,
  TextInput,
  TopToolbar,
  email,
  minLength,
  required,
  useRecordContext,
} from 'react-admin';
import { notFoundProps } from '../common';
import { ConflictGuard, LiveEdit, LiveForm } from '../conflict/ConflictGuard';
import { useLiveChannels } from '../live/LiveProvider';

const roleChoices = [
  { id: 'user', name: 'User' },
  { id: 'admin', name: 'Admin' },
];
const statusChoices = [
  { id: 'active', name: 'Active' },
  { id: 'disabled', name: 'Disabled (signed out at once)' },
];

const filters = [
  <SearchInput key="q" source="q" alwaysOn />,
  <SelectInput key="role" source="role" choices={roleChoices} />,
  <SelectInput key="status" source="status" choices={statusChoices} />,
];

function LiveUsers() {
  useLiveChannels(['admin']);
  return null;
}

export const UserList = () => (
  <List filters={filters} sort={{ field: 'email', order: 'ASC' }}>
    <LiveUsers />
    <Datagrid bulkActionButtons={false} rowClick="show">
      <TextField source="email" />
      <TextField source="name" />
      <ChipField source="role" size="small" />
      <ChipField source="status" size="small" />
      <DateField source="last_login_at" showTime emptyText="never" />
      <EditButton />
    </Datagrid>
  </List>
);

export const UserCreate = () => (
  <Create redirect="list" title="Create a user">
    <SimpleForm defaultValues={{ role: 'user' }}>
      <TextInput source="email" validate={[required(), email()]} />
      <TextInput source="name" validate={required()} />
      <PasswordInput source="password" validate={[required(), minLength(10)]} helperText="At least 10 characters" />
      <SelectInput source="role" choices={roleChoices} validate={required()} />
    </SimpleForm>
  </Create>
);

const Title = () => {
  const record = useRecordContext();
  return <span>{record ? record.email : 'User'}</span>;
};

export const UserEdit = () => (
  <LiveEdit
    redirect="list"
    title={<Title />}
    // No password typed: keep the current one (the API changes it only when one is sent).
    transform={({ password, ...rest }: Record<string, unknown>) => (password ? { ...rest, password } : rest)}
    {...notFoundProps('User')}
  >
    <LiveForm>
      <LiveUsers />
      <ConflictGuard resource="users" what="user" />
      <TextInput source="email" validate={[required(), email()]} />
      <TextInput source="name" validate={required()} />
      <SelectInput source="role" choices={roleChoices} validate={required()} />
      <SelectInput source="status" choices={statusChoices} validate={required()} />
      <PasswordInput source="password" label="New password (leave empty to keep)" validate={minLength(10)} />
    </LiveForm>
  </LiveEdit>
);

export const UserShow = () => (
  <Show
    title={<Title />}
    actions={
      <TopToolbar>
        <EditButton />
      </TopToolbar>
    }
    {...notFoundProps('User')}
  >
    <SimpleShowLayout>
      <TextField source="email" />
      <TextField source="name" />
      <ChipField source="role" size="small" />
      <ChipField source="status" size="small" />
      <DateField source="created_at" showTime />
      <DateField source="last_login_at" showTime emptyText="never" />
    </SimpleShowLayout>
  </Show>
);

export default { list: UserList, create: UserCreate, edit: UserEdit, show: UserShow, icon: PeopleIcon, recordRepresentation: 'email' };
