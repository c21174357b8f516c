// Loading, error and "could not refresh" states, the same on every screen. A refetch that fails
// for a passing reason (offline, server restarting) keeps what is on screen: the person keeps
// reading the last data they loaded.
import { useRef } from 'react';
import { keepData, toApiError, type ApiError, type Kept } from '@platform-sm/client';
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

