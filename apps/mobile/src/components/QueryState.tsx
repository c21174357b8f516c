// Loading, error and "could not refresh" states, the same on every screen. A refetch that fails
// for a passing reason (offline, server restarting) keeps what is on screen: the person keeps
// reading the last data they loaded.
import { useRef } from 'react';
import { toApiError, type ApiError } from '@platform-sm/client';
import { useOnline } from '../network';
import { Banner } from './ui';

export { Loading } from './ui';

export function ErrorMessage({ error, retry, what }: { error: unknown; retry?: () => void; what: string }) {
  const online = useOnline();
  const e = toApiError(error);
  const text = !online && e.code === 'NETWORK' ? `You are offline, and ${what} had not been loaded yet.` : e.userMessage;
  return (
    <Banner kind="error" action={retry ? { title: 'Retry', onPress: retry } : undefined}>
      {text}
    </Banner>
  );
}

/** Said above data that could not be refreshed (not while offline: the offline banner says it). */
export function RefreshWarning({ error, retry }: { error: ApiError | null; retry: () => void }) {
  const online = useOnline();
  if (!error || !online) return null;
  return (
    <Banner kind="warning" action={{ title: 'Retry', onPress: retry }}>
      Could not refresh: {error.userMessage}
    </Banner>
  );
}

/**
 * A query's data, kept when a refetch fails for a passing reason; an error saying the data is
 * gone for good (not found, signed out) drops it. `key` names the variables, so another
 * project's data is never shown as this one's.
 */
export function useKeptData<D>(result: { data?: D; error?: unknown; fetching?: boolean }, key: string): { data: D | undefined; refreshError: ApiError | null } {
  const kept = useRef<{ key: string; data: D } | null>(null);
  // Only a settled answer is this key's: while new variables load, urql still hands out the
  // previous variables' data, which must not be kept under the new key.
  if (result.data !== undefined && !result.fetching) kept.current = { key, data: result.data };
  const err = result.error ? toApiError(result.error) : null;
  const data = result.data ?? (err?.isPassing && kept.current?.key === key ? kept.current.data : undefined);
  return { data, refreshError: err && data !== undefined ? err : null };
}
