// Playwright wiring shared by the apps' browser suites: Debian's Chromium (never a downloaded
// browser), and the stack's coordinates handed from global set-up to the test workers.
import type { LaunchOptions, PlaywrightTestConfig } from '@playwright/test';
import type { StackInfo } from './stack.ts';

/** Debian's package (`apt-get install chromium`), installed by scripts/lib.sh. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Launch options for Debian's Chromium. As root it needs --no-sandbox; the background-networking
 * flags stop it from calling out (the test network is closed, and those connections would be
 * refused or hang).
 */
export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

const ENV_KEY = 'PLATFORM_SM_STACK';

/** Called by global set-up: workers are started afterwards and inherit the environment. */
export function publishStack(info: StackInfo): void {
  process.env[ENV_KEY] = JSON.stringify(info);
}

/** The running stack, in a test worker. */
export function stackInfo(): StackInfo {
  const raw = process.env[ENV_KEY];
  if (!raw) throw new Error(`${ENV_KEY} is not set: the suite's globalSetup must call startStack and publishStack`);
  return JSON.parse(raw) as StackInfo;
}

/**
 * What every app's browser suite shares: tests in `e2e/`, the stack started by
 * `e2e/global-setup.ts`, Debian's Chromium, two workers (`E2E_WORKERS`), no retries (a failure is a
 * defect to find, not something to retry away), traces and screenshots kept on failure, a desktop
 * viewport. `config` adds to it or overrides it; its `use` is merged into the shared one.
 */
export function browserSuite(config: PlaywrightTestConfig = {}): PlaywrightTestConfig {
  const { use, ...rest } = config;
  return {
    testDir: 'e2e',
    globalSetup: './e2e/global-setup.ts',
    outputDir: 'test-results',
    fullyParallel: true,
    workers: process.env.E2E_WORKERS ? Number(process.env.E2E_WORKERS) : 2,
    retries: 0,
    timeout: 60_000,
    expect: { timeout: 10_000 },
    reporter: [['list']],
    ...rest,
    use: {
      launchOptions: chromiumLaunchOptions,
      trace: 'retain-on-failure',
      screenshot: 'only-on-failure',
      viewport: { width: 1280, height: 800 },
      ...use,
    },
  };
}
