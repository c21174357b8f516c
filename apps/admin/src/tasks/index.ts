import TaskIcon from '@mui/icons-material/PlaylistPlay';
import { TaskList } from './TaskList';
import { TaskShow } from './TaskShow';

export default { list: TaskList, show: TaskShow, icon: TaskIcon };
