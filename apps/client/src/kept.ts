// What a screen keeps showing while its query refetches: the rule both apps' useKeptData hooks
// apply, apart from React.
import { toApiError, type ApiError } from './errors.ts';

export interface Kept<D> {
  key: string;
  data: D;
}

/**
 * A query's data, kept when a refetch fails for a passing reason (network, server restarting); an
 * error that says the data is gone for good (not found, signed out) drops it. `key` names the
 * variables, and only a settled answer is kept under it: while new variables load, urql still
 * hands out the previous variables' data, which must not be kept (and, after a failed fetch,
 * shown) as the new variables' answer.
 */
export function keepData<D>(
  kept: Kept<D> | null,
  result: { data?: D; error?: unknown; fetching?: boolean },
  key: string,
): { kept: Kept<D> | null; data: D | undefined; refreshError: ApiError | null } {
  const next = result.data !== undefined && !result.fetching ? { key, data: result.data } : kept;
  const err = result.error ? toApiError(result.error) : null;
  const data = result.data ?? (err?.isPassing && next?.key === key ? next.data : undefined);
  return { kept: next, data, refreshError: err && data !== undefined ? err : null };
}
