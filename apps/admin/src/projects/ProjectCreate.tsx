import { Create, SimpleForm, TextInput, regex, required } from 'react-admin';

export const slugRule = regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'Lower-case letters, digits and dashes; 3 to 63 characters');

export const ProjectCreate = () => (
  <Create redirect="show" mutationOptions={{ meta: undefined }}>
    <SimpleForm>
      <TextInput source="name" validate={required()} />
      <TextInput source="slug" validate={[required(), slugRule]} helperText="Used in URLs, e.g. demo-shop" />
      <TextInput source="description" multiline minRows={2} />
    </SimpleForm>
  </Create>
);
