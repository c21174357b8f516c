import { required, regex, TextInput } from 'react-admin';
import { JsonInput } from '../JsonInput';

export const keyRule = regex(/^[a-z0-9][a-z0-9_.-]{0,127}$/, 'Lower-case letters, digits, and . _ - (e.g. checkout.enabled)');

export const toProjectConfigs = (_resource?: string, _id?: unknown, data?: Record<string, unknown>) =>
  `/projects/${String(data?.project_id)}/show/configs`;

export const ValueInputs = () => (
  <>
    <JsonInput source="value" label="Value (JSON)" fullWidth />
    <TextInput source="description" fullWidth />
  </>
);

export const KeyInput = (props: { disabled?: boolean }) => (
  <TextInput source="key" validate={[required(), keyRule]} disabled={props.disabled} fullWidth />
);
