// Loading and error states, the same everywhere: a labelled spinner, and a message with a retry.
import { Alert, Box, Button, CircularProgress } from '@mui/material';
import { useRef } from 'react';
import { toApiError, type ApiError } from '@platform-sm/client';

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

/**
 * A query's data, kept on screen when a refetch fails for a passing reason (network, server
 * restarting): a live refetch during a hiccup must not blank the page. An error that says the data
 * is gone for good (not found, signed out) drops it. `key` names the variables, so another
 * project's data is never shown as this one's.
 */
export function useKeptData<D>(result: { data?: D; error?: unknown }, key: string): { data: D | undefined; refreshError: ApiError | null } {
  const kept = useRef<{ key: string; data: D } | null>(null);
  if (result.data !== undefined) kept.current = { key, data: result.data };
  const err = result.error ? toApiError(result.error) : null;
  const data = result.data ?? (err?.isPassing && kept.current?.key === key ? kept.current.data : undefined);
  return { data, refreshError: err && data !== undefined ? err : null };
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
