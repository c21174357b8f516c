import { defineConfig } from '@playwright/test';
import { browserSuite } from '@platform-sm/testkit/playwright';

// The mobile app's browser suite: its web export (`expo export --platform web`, React Native Web)
// in Debian's Chromium with a phone's viewport, touch and user agent, against the real stack
// that e2e/global-setup.ts starts (graphql-edge serving the export with a config.json, as it
// serves the web app). Tests make their own users and projects, so they run in parallel.
export default defineConfig(
  browserSuite({
    use: {
      // A phone (Playwright's "Pixel 7" figures): 412×915 CSS pixels, touch, a mobile user agent.
      viewport: { width: 412, height: 915 },
      deviceScaleFactor: 2.625,
      isMobile: true,
      hasTouch: true,
      userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    },
  }),
);
