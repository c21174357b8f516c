import { defineConfig } from '@playwright/test';
import { browserSuite } from '@platform-sm/testkit/playwright';

// The web app's browser suite: Debian's Chromium against the real stack, which e2e/global-setup.ts
// starts (core-svc, the three edges, a fresh database; graphql-edge serving the built app) and
// stops. Tests make their own users and projects, so they run in parallel without seeing each
// other — except the one that restarts realtime-edge, which runs alone after the rest.
export default defineConfig(
  browserSuite({
    projects: [
      { name: 'main', testIgnore: /restart\.spec\.ts/ },
      { name: 'restart', testMatch: /restart\.spec\.ts/, dependencies: ['main'] },
    ],
  }),
);
