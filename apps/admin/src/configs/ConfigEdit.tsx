import { SimpleForm, useRecordContext } from 'react-admin';
import { notFoundProps } from '../common';
import { ConflictGuard, LiveEdit, LiveForm } from '../conflict/ConflictGuard';
import { useLiveChannels } from '../live/LiveProvider';
import { KeyInput, toProjectConfigs, ValueInputs } from './ConfigForm';

const Title = () => {
  const record = useRecordContext();
  return <span>{record ? `Edit ${record.key}` : 'Edit config'}</span>;
};

function ProjectChannel() {
  const record = useRecordContext();
  useLiveChannels([record?.project_id ? `project:${record.project_id}` : null]);
  return null;
}

export const ConfigEdit = () => (
  <LiveEdit redirect={toProjectConfigs} title={<Title />} {...notFoundProps('Config')}>
    <LiveForm>
      <ProjectChannel />
      <ConflictGuard resource="configs" what="config" />
      <KeyInput disabled />
      <ValueInputs />
    </LiveForm>
  </LiveEdit>
);
