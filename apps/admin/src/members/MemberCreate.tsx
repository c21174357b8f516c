import {
  AutocompleteInput,
  Create,
  RadioButtonGroupInput,
  ReferenceInput,
  SimpleForm,
  TextInput,
  required,
  useCreateContext,
} from 'react-admin';
import { useLocation } from 'react-router-dom';
import { useIsAdmin } from '../common';

export const roleChoices = [
  { id: 'viewer', name: 'Viewer (reads)' },
  { id: 'editor', name: 'Editor (also writes configs)' },
  { id: 'owner', name: 'Owner (also manages the project)' },
];

const toProject = (_resource?: string, _id?: unknown, data?: Record<string, unknown>) =>
  `/projects/${String(data?.project_id)}/show/members`;

/** One of the two ways to name the user (form-level: it concerns two fields). */
const emailOrUser = (values: Record<string, unknown>) => {
  const typed = typeof values.email === 'string' ? values.email.trim() : '';
  if (!typed && !values.user_id) return { email: "Give the user's email, or pick a user" };
  if (typed && !/^[^\s@]+@[^\s@]+$/.test(typed)) return { email: 'Must be an email address' };
  return {};
};

/**
 * Add someone to a project by email (the user must exist; admins create users). Admins, who
 * see every user, may also pick one from the list.
 */
export const MemberCreate = () => {
  const location = useLocation();
  const admin = useIsAdmin();
  const projectId = (location.state as { record?: { project_id?: string } } | null)?.record?.project_id;
  return (
    <Create
      redirect={toProject}
      title="Add a member"
      // Send one way of naming the user: the picked user wins over a typed email.
      transform={(data: Record<string, unknown>) => {
        const { email: typed, user_id, ...rest } = data;
        return user_id ? { ...rest, user_id } : { ...rest, email: typed };
      }}
    >
      <SimpleForm defaultValues={{ role: 'viewer', project_id: projectId }} validate={emailOrUser}>
        <NoProjectWarning />
        <TextInput source="email" label="Email of the user" autoFocus />
        {admin ? (
          <ReferenceInput source="user_id" reference="users">
            <AutocompleteInput label="…or pick a user" optionText="email" filterToQuery={(q: string) => ({ q })} />
          </ReferenceInput>
        ) : null}
        <RadioButtonGroupInput source="role" choices={roleChoices} validate={required()} />
      </SimpleForm>
    </Create>
  );
};

function NoProjectWarning() {
  const { record } = useCreateContext();
  return record?.project_id ? null : <p>Open a project and use its Members tab to add someone.</p>;
}
