import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from '@platform-sm/testkit/playwright';

// The web app's browser suite: Debian's Chromium against the real stack, which e2e/global-setup.ts
// starts (core-svc, the three edges, a fresh database; graphql-edge serving the built app) and
// stops. Tests make their own users and projects, so they run in parallel without seeing each
// other — except the one that restarts realtime-edge, which runs alone after the rest.
export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  outputDir: 'test-results',
  fullyParallel: true,
  workers: process.env.E2E_WORKERS ? Number(process.env.E2E_WORKERS) : 2,
  // A failure is a defect to find, not something to retry away.
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    launchOptions: chromiumLaunchOptions,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    viewport: { width: 1280, height: 800 },
  },
  projects: [
    { name: 'main', testIgnore: /restart\.spec\.ts/ },
    { name: 'restart', testMatch: /restart\.spec\.ts/, dependencies: ['main'] },
  ],
});
