// Unit and component tests: jest-expo (React Native's Jest environment with Expo's Babel preset)
// and @testing-library/react-native. No device and no server: src/test/fakePlatform.ts plays
// graphql-edge and realtime-edge over the same wire formats.
module.exports = {
  preset: 'jest-expo',
  testMatch: ['<rootDir>/src/**/*.test.ts?(x)'],
  setupFilesAfterEnv: ['<rootDir>/src/test/setup.ts'],
};
