// Where the session's tokens and the chosen server live on a phone: the platform's secure
// storage (iOS Keychain, Android Keystore-encrypted preferences) through expo-secure-store.
// The web target has its own file (storage.web.ts): browser storage.
import * as SecureStore from 'expo-secure-store';
import type { LockLike, TokenStorage } from '@platform-sm/client';

export const storage: TokenStorage = {
  getItem: (key) => SecureStore.getItemAsync(key),
  setItem: (key, value) => SecureStore.setItemAsync(key, value),
  removeItem: (key) => SecureStore.deleteItemAsync(key),
};

/** One app process holds the tokens: refreshes are already serialised by the Session. */
export const lock: LockLike | undefined = undefined;
