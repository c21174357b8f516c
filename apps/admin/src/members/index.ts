import { MemberCreate } from './MemberCreate';
import { MemberEdit } from './MemberEdit';

// Members are listed inside their project (ProjectShow's Members tab).
export default { create: MemberCreate, edit: MemberEdit };
