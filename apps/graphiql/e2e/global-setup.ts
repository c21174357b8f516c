import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack } from '@platform-sm/testkit';
import { publishStack } from '@platform-sm/testkit/playwright';

const here = dirname(fileURLToPath(import.meta.url));

export default async function globalSetup() {
  const logDir = process.env.E2E_LOG_DIR ? join(process.env.E2E_LOG_DIR, 'graphiql') : mkdtempSync(join(tmpdir(), 'platform-sm-graphiql-e2e-'));
  const stack = await startStack({
    logDir,
    // Served as the README says: graphql-edge reads the build from GRAPHIQL_DIR.
    graphqlEnv: { GRAPHIQL_DIR: resolve(here, '../dist') },
    coreEnv: { LOGIN_RATE_LIMIT_PER_ADDR: '100000', LOGIN_RATE_LIMIT_PER_EMAIL: '1000' },
  });
  console.log(`stack up: ${stack.graphqlUrl} (logs in ${logDir})`);
  const { restart: _r, startAgain: _s, stop: _stop, ...info } = stack;
  publishStack(info);
  return async () => {
    await stack.stop();
  };
}
