import { defineConfig } from '@playwright/test';
import { browserSuite } from '@platform-sm/testkit/playwright';

// The browser suite: Debian's Chromium against the real stack, which e2e/global-setup.ts starts
// (core-svc, the three edges, a fresh database) and stops. Tests make their own users and
// projects, so they run in parallel without seeing each other.
export default defineConfig(browserSuite());
