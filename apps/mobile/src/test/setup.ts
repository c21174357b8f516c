// Native modules the component tests replace: the network state (driven by the tests) and the
// safe-area insets (the library's own Jest mock).
import { afterEach, jest } from '@jest/globals';

jest.mock('expo-network', () => jest.requireActual('./networkMock'));
jest.mock('react-native-safe-area-context', () => jest.requireActual<{ default: unknown }>('react-native-safe-area-context/jest/mock').default);

afterEach(() => {
  const { act } = jest.requireActual<typeof import('@testing-library/react-native')>('@testing-library/react-native');
  act(() => (jest.requireActual('./networkMock') as typeof import('./networkMock')).setOnline(true));
});
