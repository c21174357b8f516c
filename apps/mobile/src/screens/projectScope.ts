// What a project's screens share: the project (kept current live) and what the person may do in it.
import { createContext, useContext } from 'react';
import type { ProjectSummaryFragment } from '@platform-sm/client';

export interface ProjectScope {
  project: ProjectSummaryFragment;
  canEditConfigs: boolean;
  isOwner: boolean;
}

export const ProjectScopeContext = createContext<ProjectScope | null>(null);

export function useProject(): ProjectScope {
  const v = useContext(ProjectScopeContext);
  if (!v) throw new Error('useProject outside <ProjectScreen>');
  return v;
}
