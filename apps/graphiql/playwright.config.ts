import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from '@platform-sm/testkit/playwright';

// GraphiQL's browser suite: Debian's Chromium against the real stack, which e2e/global-setup.ts
// starts with graphql-edge serving this package's build (GRAPHIQL_DIR) and stops.
export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  outputDir: 'test-results',
  fullyParallel: true,
  workers: process.env.E2E_WORKERS ? Number(process.env.E2E_WORKERS) : 2,
  // A failure is a defect to find, not something to retry away.
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    launchOptions: chromiumLaunchOptions,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    viewport: { width: 1280, height: 800 },
  },
});
