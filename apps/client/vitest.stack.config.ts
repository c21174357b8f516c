import { defineConfig } from 'vitest/config';

// Against the real stack (testkit's startStack: the cargo-built services, a fresh database on
// DATABASE_URL's server, REDIS_URL): the session flows and the realtime client across a killed
// and restarted realtime-edge. Each file starts its own stack, so it may stop and start services.
export default defineConfig({
  test: {
    include: ['src/**/*.stack.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
