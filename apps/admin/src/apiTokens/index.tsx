import KeyIcon from '@mui/icons-material/Key';
import { Alert, AlertTitle, Box } from '@mui/material';
import { useState } from 'react';
import {
  BooleanInput,
  Button,
  Create,
  Datagrid,
  DateField,
  DateTimeInput,
  DeleteWithConfirmButton,
  List,
  SimpleForm,
  TextField,
  TextInput,
  required,
  useRecordContext,
  useRedirect,
} from 'react-admin';

function RevokeButton() {
  const token = useRecordContext();
  if (!token || token.revoked_at) return null;
  return (
    <DeleteWithConfirmButton
      label="Revoke"
      mutationMode="pessimistic"
      confirmTitle={`Revoke ${String(token.name)}?`}
      confirmContent="Tools using this token stop working at their next request."
      redirect={false}
    />
  );
}

export const ApiTokenList = () => (
  <List filters={[<BooleanInput key="revoked" source="revoked" label="Revoked" />]} sort={{ field: 'created_at', order: 'DESC' }}>
    <Datagrid bulkActionButtons={false} rowClick={false}>
      <TextField source="name" />
      <TextField source="prefix" sortable={false} />
      <DateField source="created_at" showTime />
      <DateField source="expires_at" showTime emptyText="never" />
      <DateField source="last_used_at" showTime emptyText="never" sortable={false} />
      <DateField source="revoked_at" showTime emptyText="—" sortable={false} />
      <RevokeButton />
    </Datagrid>
  </List>
);

/** The token is shown once, right after it is created. */
export const ApiTokenCreate = () => {
  const [created, setCreated] = useState<Record<string, unknown> | null>(null);
  const redirect = useRedirect();
  if (created) {
    return (
      <Box sx={{ p: 2 }}>
        <Alert severity="success" role="status">
          <AlertTitle>Token created. Copy it now: it is not shown again.</AlertTitle>
          <code aria-label="API token" style={{ fontSize: 15, wordBreak: 'break-all' }}>
            {String(created.token)}
          </code>
        </Alert>
        <Button label="Done" sx={{ mt: 2 }} variant="contained" onClick={() => redirect('list', 'api-tokens')} />
      </Box>
    );
  }
  return (
    <Create title="Create an API token" mutationOptions={{ onSuccess: (data: Record<string, unknown>) => setCreated(data) }}>
      <SimpleForm>
        <TextInput source="name" validate={required()} helperText="What uses it, e.g. deploy-bot" />
        <DateTimeInput source="expires_at" label="Expires (optional)" />
      </SimpleForm>
    </Create>
  );
};

export default { list: ApiTokenList, create: ApiTokenCreate, icon: KeyIcon, options: { label: 'API tokens' } };
