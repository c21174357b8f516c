import SettingsIcon from '@mui/icons-material/Settings';
import { Create, Datagrid, DateField, EditButton, FunctionField, List, SearchInput, SimpleForm, TextField, TextInput, required, regex, useRecordContext } from 'react-admin';
import { JsonValue, notFoundProps } from '../common';
import { ConflictGuard, LiveEdit, LiveForm } from '../conflict/ConflictGuard';
import { JsonInput } from '../JsonInput';
import { useLiveChannels } from '../live/LiveProvider';

/** Settings change on the `system` channel. */
function LiveSettings() {
  useLiveChannels(['system']);
  return null;
}

const keyRule = regex(/^[a-z0-9][a-z0-9_.-]{0,127}$/, 'Lower-case letters, digits, and . _ - (e.g. auth.signup_enabled)');

export const SettingList = () => (
  <List filters={[<SearchInput key="q" source="q" alwaysOn />]} sort={{ field: 'key', order: 'ASC' }}>
    <LiveSettings />
    <Datagrid bulkActionButtons={false} rowClick="edit">
      <TextField source="key" />
      <FunctionField label="Value" render={(r) => <JsonValue value={r.value} />} />
      <TextField source="description" sortable={false} />
      <TextField source="version" sortable={false} />
      <DateField source="updated_at" showTime />
      <EditButton />
    </Datagrid>
  </List>
);

export const SettingCreate = () => (
  <Create redirect="list" title="Add a setting">
    <SimpleForm defaultValues={{ description: '' }}>
      <TextInput source="key" validate={[required(), keyRule]} helperText="e.g. auth.signup_enabled, events.retention_days" />
      <JsonInput source="value" label="Value (JSON)" fullWidth />
      <TextInput source="description" fullWidth />
    </SimpleForm>
  </Create>
);

const Title = () => {
  const record = useRecordContext();
  return <span>{record ? `Setting ${record.key}` : 'Setting'}</span>;
};

export const SettingEdit = () => (
  <LiveEdit redirect="list" title={<Title />} {...notFoundProps('Setting')}>
    <LiveForm>
      <LiveSettings />
      <ConflictGuard resource="settings" what="setting" />
      <TextInput source="key" disabled />
      <JsonInput source="value" label="Value (JSON)" fullWidth />
      <TextInput source="description" fullWidth />
    </LiveForm>
  </LiveEdit>
);

export default { list: SettingList, create: SettingCreate, edit: SettingEdit, icon: SettingsIcon, recordRepresentation: 'key' };
