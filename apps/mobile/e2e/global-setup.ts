import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack } from '@platform-sm/testkit';
import { publishStack } from '@platform-sm/testkit/playwright';

const here = dirname(fileURLToPath(import.meta.url));

export default async function globalSetup() {
  const logDir = process.env.E2E_LOG_DIR ? join(process.env.E2E_LOG_DIR, 'mobile') : mkdtempSync(join(tmpdir(), 'platform-sm-mobile-e2e-'));
  // The export is deployed like the web app: copied to a folder with a config.json beside
  // index.html, and served by graphql-edge at / (WEB_STATIC_DIR).
  const stack = await startStack({
    webDist: resolve(here, '../dist'),
    logDir,
    coreEnv: {
      // Every test signs in from 127.0.0.1; the limiter itself is tested in Rust.
      LOGIN_RATE_LIMIT_PER_ADDR: '100000',
      LOGIN_RATE_LIMIT_PER_EMAIL: '1000',
    },
  });
  console.log(`stack up: ${stack.webUrl} (logs in ${logDir})`);
  const { restart: _r, startAgain: _s, stop: _stop, ...info } = stack;
  publishStack(info);
  return () => stack.stop();
}
