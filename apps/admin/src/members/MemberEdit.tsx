import { RadioButtonGroupInput, ReferenceField, SimpleForm, TextField, required } from 'react-admin';
import { notFoundProps } from '../common';
import { ConflictGuard, LiveEdit, LiveForm } from '../conflict/ConflictGuard';
import { roleChoices } from './MemberCreate';

const toProject = (_resource?: string, _id?: unknown, data?: Record<string, unknown>) =>
  `/projects/${String(data?.project_id)}/show/members`;

export const MemberEdit = () => (
  <LiveEdit redirect={toProject} title="Change a member's role" {...notFoundProps('Member')}>
    <LiveForm>
      <ConflictGuard resource="members" what="membership" />
      <ReferenceField source="user_id" reference="users" link={false}>
        <TextField source="email" />
      </ReferenceField>
      <RadioButtonGroupInput source="role" choices={roleChoices} validate={required()} />
    </LiveForm>
  </LiveEdit>
);
