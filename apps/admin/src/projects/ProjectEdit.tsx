import { TextInput, required, useRecordContext } from 'react-admin';
import { notFoundProps } from '../common';
import { ConflictGuard, LiveEdit, LiveForm } from '../conflict/ConflictGuard';
import { slugRule } from './ProjectCreate';

const Title = () => {
  const record = useRecordContext();
  return <span>{record ? `Edit ${record.name}` : 'Edit project'}</span>;
};

export const ProjectEdit = () => (
  <LiveEdit redirect="show" title={<Title />} {...notFoundProps('Project')}>
    <LiveForm>
      <ConflictGuard resource="projects" what="project" />
      <TextInput source="name" validate={required()} />
      <TextInput source="slug" validate={[required(), slugRule]} />
      <TextInput source="description" multiline minRows={2} />
    </LiveForm>
  </LiveEdit>
);
