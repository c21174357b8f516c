// Loading and error states, the same everywhere: a labelled spinner, and a message with a retry.
import { Alert, Box, Button, CircularProgress } from '@mui/material';
import { useRef } from 'react';
import { keepData, toApiError, type ApiError, type Kept } from '@platform-sm/client';

export function Loading({ label }: { label: string }) {
  return (
    <Box sx={{ display: 'flex', justifyContent: 'center', py: 4 }}>
      <CircularProgress aria-label={label} />
    </Box>
  );
}

export function ErrorMessage({ error, retry }: { error: unknown; retry?: () => void }) {
  const e = toApiError(error);
  return (
    <Alert
      severity="error"
      action={
        retry ? (
          <Button color="inherit" size="small" onClick={retry}>
            Retry
          </Button>
        ) : undefined
      }
    >
      {e.userMessage}
    </Alert>
  );
}

/** A query's data, kept on screen through a passing failure of its refetch (`keepData`'s rule). */
export function useKeptData<D>(
  result: { data?: D; error?: unknown; fetching?: boolean },
  key: string,
): { data: D | undefined; refreshError: ApiError | null } {
  const kept = useRef<Kept<D> | null>(null);
  const next = keepData(kept.current, result, key);
  kept.current = next.kept;
  return { data: next.data, refreshError: next.refreshError };
}

/** Said above data that could not be refreshed. */
export function RefreshWarning({ error, retry }: { error: ApiError | null; retry: () => void }) {
  if (!error) return null;
  return (
    <Alert
      severity="warning"
      action={
        <Button color="inherit" size="small" onClick={retry}>
          Retry
        </Button>
      }
    >
      Could not refresh: {error.userMessage}
    </Alert>
  );
}
