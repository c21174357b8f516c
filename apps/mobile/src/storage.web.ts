// The web target's storage: localStorage (expo-secure-store has no web implementation). Tabs of
// the same origin share it, so refreshes are serialised across them with the Web Locks API —
// two tabs never present the same single-use refresh token.
import type { LockLike, TokenStorage } from '@platform-sm/client';

export const storage: TokenStorage = window.localStorage;

export const lock: LockLike | undefined = navigator.locks
  ? { request: <T,>(name: string, cb: () => Promise<T>) => navigator.locks.request(name, cb) as Promise<T> }
  : undefined;
