import { defineConfig } from 'vitest/config';

// Unit tests: fakes only, no server (the realtime client against a scripted socket).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    exclude: ['src/**/*.stack.test.ts'],
    environment: 'node',
  },
});
