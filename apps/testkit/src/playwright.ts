// Playwright wiring shared by the apps' browser suites: Debian's Chromium (never a downloaded
// browser), and the stack's coordinates handed from global set-up to the test workers.
import type { LaunchOptions } from '@playwright/test';
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
