// Native modules the component tests replace: the network state (driven by the tests) and the
// safe-area insets (the library's own Jest mock).
import { afterEach, jest } from '@jest/globals';
import { configure } from '@testing-library/react-native';

// findBy…/waitFor wait for a condition; the library's 1 s default made them fail on a busy machine
// (the first screen once took longer to appear). A longer bound costs nothing when the condition
// holds, and a test that is truly wrong still fails.
configure({ asyncUtilTimeout: 10_000 });

jest.mock('expo-network', () => jest.requireActual('./networkMock'));
jest.mock('react-native-safe-area-context', () => jest.requireActual<{ default: unknown }>('react-native-safe-area-context/jest/mock').default);

afterEach(() => {
  const { act } = jest.requireActual<typeof import('@testing-library/react-native')>('@testing-library/react-native');
  act(() => (jest.requireActual('./networkMock') as typeof import('./networkMock')).setOnline(true));
});
