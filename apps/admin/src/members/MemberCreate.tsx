import { Create, RadioButtonGroupInput, SimpleForm, TextInput, email, required, useCreateContext } from 'react-admin';
import { useLocation } from 'react-router-dom';

export const roleChoices = [
  { id: 'viewer', name: 'Viewer (reads)' },
  { id: 'editor', name: 'Editor (also writes configs)' },
  { id: 'owner', name: 'Owner (also manages the project)' },
];

const toProject = (_resource?: string, _id?: unknown, data?: Record<string, unknown>) =>
  `/projects/${String(data?.project_id)}/show/members`;

/** Add someone to a project by email (the user must exist; admins create users). */
export const MemberCreate = () => {
  const location = useLocation();
  const projectId = (location.state as { record?: { project_id?: string } } | null)?.record?.project_id;
  return (
    <Create redirect={toProject} title="Add a member">
      <SimpleForm defaultValues={{ role: 'viewer', project_id: projectId }}>
        <NoProjectWarning />
        <TextInput source="email" label="Email of the user" validate={[required(), email()]} autoFocus />
        <RadioButtonGroupInput source="role" choices={roleChoices} validate={required()} />
      </SimpleForm>
    </Create>
  );
};

function NoProjectWarning() {
  const { record } = useCreateContext();
  return record?.project_id ? null : <p>Open a project and use its Members tab to add someone.</p>;
}
