// Small pieces shared by the resources.
import { Alert } from '@mui/material';
import {
  DeleteWithConfirmButton,
  useCanAccess,
  usePermissions,
  useRecordContext,
  type DeleteWithConfirmButtonProps,
} from 'react-admin';

/** What a Show/Edit displays when its record cannot be read: not found also for non-members. */
export function RecordError({ what }: { what: string }) {
  return (
    <Alert severity="warning" sx={{ m: 2 }} role="alert">
      {`${what} not found: it does not exist, or you are not a member of its project.`}
    </Alert>
  );
}

/** Props that make Show/Edit render RecordError instead of bouncing back to the list. */
export const notFoundProps = (what: string) => ({
  queryOptions: { onError: () => undefined, retry: false },
  redirectOnError: false as const,
  error: <RecordError what={what} />,
});

export function useIsAdmin(): boolean {
  const { permissions } = usePermissions();
  return permissions === 'admin';
}

/** JSON shown compactly, as a code block. */
export function JsonValue({ value }: { value: unknown }) {
  return (
    <pre style={{ margin: 0, whiteSpace: 'pre-wrap', wordBreak: 'break-word', fontSize: 13 }}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** DeleteWithConfirmButton, shown only to those who may delete the record in context. */
export function GuardedDelete({ resource, ...props }: DeleteWithConfirmButtonProps & { resource: string }) {
  const record = useRecordContext();
  const { canAccess } = useCanAccess({ resource, action: 'delete', record });
  if (!record || !canAccess) return null;
  return <DeleteWithConfirmButton resource={resource} {...props} />;
}
