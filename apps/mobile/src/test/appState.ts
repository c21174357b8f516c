// AppState as the tests drive it: `moveApp('background')` is the person switching apps.
import { jest } from '@jest/globals';
import { act } from '@testing-library/react-native';
import { AppState, type AppStateStatus } from 'react-native';

const listeners = new Set<(s: AppStateStatus) => void>();

export function installAppState(): void {
  listeners.clear();
  (AppState as { currentState: AppStateStatus }).currentState = 'active';
  jest.mocked(AppState.addEventListener).mockImplementation((_type, listener) => {
    const l = listener as (s: AppStateStatus) => void;
    listeners.add(l);
    return { remove: () => void listeners.delete(l) } as ReturnType<typeof AppState.addEventListener>;
  });
}

export function moveApp(state: AppStateStatus): void {
  (AppState as { currentState: AppStateStatus }).currentState = state;
  act(() => {
    for (const l of [...listeners]) l(state);
  });
}
