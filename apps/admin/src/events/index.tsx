import HistoryEduIcon from '@mui/icons-material/HistoryEdu';
import {
  Datagrid,
  DateField,
  DateTimeInput,
  FunctionField,
  List,
  ReferenceField,
  ReferenceInput,
  AutocompleteInput,
  Show,
  SimpleShowLayout,
  TextField,
  TextInput,
} from 'react-admin';
import { JsonValue, notFoundProps } from '../common';
import { useLiveChannels } from '../live/LiveProvider';

/** The global audit log (admins): every event as it is committed. */
function LiveEvents() {
  useLiveChannels(['admin']);
  return null;
}

const filters = [
  <TextInput key="type" source="type" label="Type (e.g. config.*)" alwaysOn />,
  <TextInput key="channel" source="channel" label="Channel (e.g. system, project:<id>)" />,
  <ReferenceInput key="actor" source="actor_id" reference="users">
    <AutocompleteInput label="Actor" optionText="email" filterToQuery={(q) => ({ q })} />
  </ReferenceInput>,
  <DateTimeInput key="from" source="occurred_at_gte" label="From" />,
  <DateTimeInput key="to" source="occurred_at_lte" label="Until" />,
];

export const EventList = () => (
  <List filters={filters} sort={{ field: 'seq', order: 'DESC' }} perPage={25}>
    <LiveEvents />
    <Datagrid bulkActionButtons={false} rowClick="show">
      <TextField source="seq" />
      <TextField source="type" sortable={false} />
      <TextField source="channel" sortable={false} />
      <ReferenceField source="actor_id" reference="users" label="By" link={false} sortable={false} emptyText="system">
        <TextField source="email" />
      </ReferenceField>
      <FunctionField label="Resource" sortable={false} render={(e) => `${e.resource_type} ${e.resource_id}`} />
      <DateField source="occurred_at" showTime />
    </Datagrid>
  </List>
);

export const EventShow = () => (
  <Show title="Event" {...notFoundProps('Event')}>
    <SimpleShowLayout>
      <TextField source="seq" />
      <TextField source="type" />
      <FunctionField label="Channels" render={(e) => (e.channels as string[]).join(', ')} />
      <ReferenceField source="actor_id" reference="users" link={false} emptyText="system">
        <TextField source="email" />
      </ReferenceField>
      <TextField source="resource_type" />
      <TextField source="resource_id" />
      <FunctionField label="Payload" render={(e) => <JsonValue value={e.payload} />} />
      <DateField source="occurred_at" showTime />
      <TextField source="request_id" />
    </SimpleShowLayout>
  </Show>
);

export default { list: EventList, show: EventShow, icon: HistoryEduIcon, options: { label: 'Audit log' } };
