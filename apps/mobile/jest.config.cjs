// Unit and component tests: jest-expo (React Native's Jest environment, iOS flavour, with
// Expo's Babel preset) and @testing-library/react-native. No device, no server: the GraphQL
// server and realtime-edge are fakes in src/test/ that speak the same wire formats.
module.exports = {
  preset: 'jest-expo',
  testMatch: ['<rootDir>/src/**/*.test.ts?(x)'],
};
