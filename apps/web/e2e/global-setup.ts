import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveControl, startStack } from '@platform-sm/testkit';
import { publishStack } from '@platform-sm/testkit/playwright';

const here = dirname(fileURLToPath(import.meta.url));

/** Access tokens of the suite's stack live this long, so pages refresh (and re-auth their socket) during tests. */
export const ACCESS_TOKEN_TTL_SECS = 20;

export default async function globalSetup() {
  const logDir = process.env.E2E_LOG_DIR ? join(process.env.E2E_LOG_DIR, 'web') : mkdtempSync(join(tmpdir(), 'platform-sm-web-e2e-'));
  const stack = await startStack({
    webDist: resolve(here, '../dist'),
    logDir,
    coreEnv: {
      ACCESS_TOKEN_TTL_SECS: String(ACCESS_TOKEN_TTL_SECS),
      // Every test signs in from 127.0.0.1; the limiter itself is tested in Rust.
      LOGIN_RATE_LIMIT_PER_ADDR: '100000',
      LOGIN_RATE_LIMIT_PER_EMAIL: '1000',
    },
  });
  const control = await serveControl(stack);
  console.log(`stack up: ${stack.webUrl} (logs in ${logDir})`);
  const { restart: _r, startAgain: _s, stop: _stop, ...info } = stack;
  publishStack({ ...info, controlUrl: control.url });
  return async () => {
    await control.close();
    await stack.stop();
  };
}
