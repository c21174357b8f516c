// Loading and error states, the same everywhere: a labelled spinner, and a message with a retry.
import { Alert, Box, Button, CircularProgress } from '@mui/material';
import { toApiError } from '@platform-sm/client';

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
