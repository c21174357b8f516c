import { ConfigCreate } from './ConfigCreate';
import { ConfigEdit } from './ConfigEdit';
import { ConfigShow } from './ConfigShow';

// Configs are listed inside their project (ProjectShow's Configs tab).
export default { create: ConfigCreate, edit: ConfigEdit, show: ConfigShow, recordRepresentation: 'key' };
