import { defineConfig } from '@playwright/test';
import { browserSuite } from '@platform-sm/testkit/playwright';

// GraphiQL's browser suite: Debian's Chromium against the real stack, which e2e/global-setup.ts
// starts with graphql-edge serving this package's build (GRAPHIQL_DIR) and stops.
export default defineConfig(browserSuite({ expect: { timeout: 15_000 } }));
