import WebhookIcon from '@mui/icons-material/Webhook';
import { Alert, AlertTitle, Box } from '@mui/material';
import { useState } from 'react';
import {
  ArrayInput,
  BooleanInput,
  ChipField,
  Create,
  Datagrid,
  DateField,
  EditButton,
  FunctionField,
  Pagination,
  ReferenceField,
  ReferenceManyField,
  Show,
  SimpleForm,
  SimpleFormIterator,
  SimpleShowLayout,
  TextField,
  TextInput,
  TopToolbar,
  Labeled,
  required,
  useRecordContext,
  useRedirect,
  Button,
} from 'react-admin';
import { useLocation } from 'react-router-dom';
import { GuardedDelete, notFoundProps } from '../common';
import { ConflictGuard, LiveEdit, LiveForm } from '../conflict/ConflictGuard';
import { useLiveChannels } from '../live/LiveProvider';

const httpUrl = (v: unknown) =>
  typeof v === 'string' && /^https?:\/\/[^\s]+$/.test(v) ? undefined : 'An http(s) URL, e.g. https://hooks.example.com/platform';

/** event_types is a list of globs; the form edits them one per line. */
const EventTypesInput = () => (
  <ArrayInput source="event_types" label="Event types" helperText="Globs such as config.* or project.archived; * for all">
    <SimpleFormIterator inline disableReordering>
      <TextInput source="" label="Event type" validate={required()} />
    </SimpleFormIterator>
  </ArrayInput>
);

const toProjectWebhooks = (_r?: string, _id?: unknown, data?: Record<string, unknown>) =>
  `/projects/${String(data?.project_id)}/show/webhooks`;

/** After create, the secret is shown once (the API never returns it again). */
export const WebhookCreate = () => {
  const location = useLocation();
  const projectId = (location.state as { record?: { project_id?: string } } | null)?.record?.project_id;
  const [created, setCreated] = useState<Record<string, unknown> | null>(null);
  const redirect = useRedirect();
  if (created) {
    return (
      <Box sx={{ p: 2 }}>
        <Alert severity="success" role="status">
          <AlertTitle>Webhook created. Copy its signing secret now: it is not shown again.</AlertTitle>
          <code aria-label="Signing secret" style={{ fontSize: 15 }}>
            {String(created.secret)}
          </code>
        </Alert>
        <Button label="Done" sx={{ mt: 2 }} variant="contained" onClick={() => redirect(toProjectWebhooks(undefined, undefined, created))} />
      </Box>
    );
  }
  return (
    <Create title="Add a webhook" mutationOptions={{ onSuccess: (data: Record<string, unknown>) => setCreated(data) }}>
      <SimpleForm defaultValues={{ project_id: projectId, event_types: ['*'], description: '' }}>
        <TextInput source="url" label="URL" validate={[required(), httpUrl]} fullWidth />
        <EventTypesInput />
        <TextInput source="description" fullWidth />
        <TextInput source="secret" label="Secret (optional; one is generated when empty)" fullWidth />
      </SimpleForm>
    </Create>
  );
};

export const WebhookEdit = () => (
  <LiveEdit redirect={toProjectWebhooks} title="Edit webhook" {...notFoundProps('Webhook')}>
    <LiveForm>
      <ConflictGuard resource="webhooks" what="webhook" />
      <TextInput source="url" label="URL" validate={[required(), httpUrl]} fullWidth />
      <EventTypesInput />
      <BooleanInput source="active" />
      <TextInput source="description" fullWidth />
      <TextInput source="secret" label="New secret (leave empty to keep)" fullWidth />
    </LiveForm>
  </LiveEdit>
);

function ProjectChannel() {
  const record = useRecordContext();
  useLiveChannels([record?.project_id ? `project:${record.project_id}` : null]);
  return null;
}

export const WebhookShow = () => (
  <Show
    title="Webhook"
    actions={
      <TopToolbar>
        <EditButton />
        <GuardedDelete resource="webhooks" mutationMode="pessimistic" redirect={toProjectWebhooks} />
      </TopToolbar>
    }
    {...notFoundProps('Webhook')}
  >
    <SimpleShowLayout>
      <ProjectChannel />
      <ReferenceField source="project_id" reference="projects" link="show">
        <TextField source="name" />
      </ReferenceField>
      <TextField source="url" />
      <FunctionField label="Event types" render={(r) => (r.event_types as string[]).join(', ')} />
      <FunctionField label="Active" render={(r) => (r.active ? 'yes' : 'no')} />
      <TextField source="description" emptyText="—" />
      <DateField source="created_at" showTime />
      <Labeled label="Deliveries" fullWidth>
        <ReferenceManyField reference="webhook-deliveries" target="webhook_id" sort={{ field: 'created_at', order: 'DESC' }} pagination={<Pagination />}>
          <Datagrid bulkActionButtons={false} rowClick={false}>
            <TextField source="event_type" sortable={false} />
            <ChipField source="status" size="small" sortable={false} />
            <TextField source="attempts" sortable={false} />
            <TextField source="response_status" sortable={false} emptyText="—" />
            <TextField source="last_error" sortable={false} emptyText="—" />
            <DateField source="created_at" showTime />
            <DateField source="delivered_at" showTime emptyText="—" sortable={false} />
          </Datagrid>
        </ReferenceManyField>
      </Labeled>
    </SimpleShowLayout>
  </Show>
);

export default { create: WebhookCreate, edit: WebhookEdit, show: WebhookShow, icon: WebhookIcon, recordRepresentation: 'url' };
