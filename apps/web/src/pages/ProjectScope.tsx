// Everything under /projects/:projectId: the project itself (kept current by its live
// subscription), shared by the project's tabs and its configs' history pages.
import { Alert, Button, Stack } from '@mui/material';
import { createContext, useContext, useEffect } from 'react';
import { Link as RouterLink, Outlet, useParams } from 'react-router';
import { useQuery } from 'urql';
import { ProjectDocument, toApiError, type ProjectSummaryFragment } from '@platform-sm/client';
import { ErrorMessage, Loading, useKeptData } from '../components/QueryState.tsx';
import { ProjectLiveProvider, useLiveRefetch } from '../live/ProjectLive.tsx';

interface ProjectScopeValue {
  project: ProjectSummaryFragment;
  canEditConfigs: boolean;
  isOwner: boolean;
}

const Context = createContext<ProjectScopeValue | null>(null);

export function useProject(): ProjectScopeValue {
  const v = useContext(Context);
  if (!v) throw new Error('useProject outside <ProjectScope>');
  return v;
}

function RefetchOnProjectChange({ refetch }: { refetch: (o: { requestPolicy: 'network-only' }) => void }) {
  useLiveRefetch('project', refetch);
  return null;
}

export function ProjectScope() {
  const { projectId = '' } = useParams();
  const [result, refetch] = useQuery({ query: ProjectDocument, variables: { id: projectId } });
  const project = useKeptData(result, projectId).data?.project;
  useEffect(() => {
    if (project) document.title = `${project.name} · Platform SM`;
    return () => {
      document.title = 'Platform SM';
    };
  }, [project]);

  if (!project) {
    if (result.error) {
      const e = toApiError(result.error);
      if (e.code === 'NOT_FOUND' || e.code === 'BAD_USER_INPUT') {
        return (
          <Stack spacing={2}>
            <Alert severity="warning">This project does not exist, or you are not a member of it.</Alert>
            <Button component={RouterLink} to="/projects">
              Back to my projects
            </Button>
          </Stack>
        );
      }
      return <ErrorMessage error={result.error} retry={() => refetch({ requestPolicy: 'network-only' })} />;
    }
    return <Loading label="Loading project" />;
  }
  const archived = project.status === 'ARCHIVED';
  const value: ProjectScopeValue = {
    project,
    canEditConfigs: !archived && (project.myRole === 'OWNER' || project.myRole === 'EDITOR'),
    isOwner: project.myRole === 'OWNER',
  };
  return (
    <ProjectLiveProvider projectId={project.id} projectName={project.name}>
      <RefetchOnProjectChange refetch={refetch} />
      <Context.Provider value={value}>
        <Outlet />
      </Context.Provider>
    </ProjectLiveProvider>
  );
}
