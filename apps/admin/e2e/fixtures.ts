// What every browser test starts from: the running stack, an admin API client, and a
// sign-in step that goes through the login page like a person.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Page } from '@playwright/test';
import { RestClient, type NewUser } from '@platform-sm/testkit';
import { stackInfo } from '@platform-sm/testkit/playwright';

export const stack = stackInfo();

/** The panel, as rest-edge serves it, with the runtime config.json it is deployed with. */
export const adminUrl = stack.adminUrl ?? '';

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto(adminUrl);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('textbox', { name: 'Password' }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Profile' })).toBeVisible();
}

const screenshotDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');

/**
 * The README's pictures come from the tests, so they show what the panel really does. Written
 * only with UPDATE_SCREENSHOTS=1, so a normal run leaves the working tree clean.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(screenshotDir, { recursive: true });
  // Wait until the screen has loaded what it shows (no request in flight).
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), animations: 'disabled', fullPage: true });
}

/** Signs out through the user menu. */
export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Profile' }).click();
  await page.getByRole('menuitem', { name: 'Logout' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
}

interface Fixtures {
  admin: RestClient;
  /** A fresh user (role user) with a known password. */
  newUser: (opts?: { name?: string }) => Promise<NewUser>;
}

export const test = base.extend<Fixtures>({
  admin: async ({}, use) => {
    await use(await RestClient.login(stack.restUrl, stack.admin.email, stack.admin.password));
  },
  newUser: async ({ admin }, use) => {
    await use((opts) => admin.createUser(opts));
  },
});

export { expect };
