import { Create, SimpleForm } from 'react-admin';
import { useLocation } from 'react-router-dom';
import { KeyInput, toProjectConfigs, ValueInputs } from './ConfigForm';

export const ConfigCreate = () => {
  const location = useLocation();
  const projectId = (location.state as { record?: { project_id?: string } } | null)?.record?.project_id;
  return (
    <Create redirect={toProjectConfigs} title="Set a config">
      <SimpleForm defaultValues={{ project_id: projectId, description: '' }}>
        <KeyInput />
        <ValueInputs />
      </SimpleForm>
    </Create>
  );
};
