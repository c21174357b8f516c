// What every phone-viewport test starts from: the running stack, an admin API client to set the
// scene, and a sign-in through the app's sign-in screen.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Browser, type Page } from '@playwright/test';
import { RestClient, graphql, type NewUser } from '@platform-sm/testkit';
import { stackInfo } from '@platform-sm/testkit/playwright';

export const stack = stackInfo();
export const appUrl = stack.webUrl ?? '';

export async function signIn(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.goto(appUrl);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'My projects' })).toBeVisible();
}

/** A new browser context (its own storage: another person's phone) signed in as `user`. */
export async function personIn(browser: Browser, user: NewUser): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, user);
  return page;
}

export async function openProject(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}

/** The config's card (role listitem, named by its key). */
export function configItem(page: Page, key: string) {
  return page.getByRole('listitem', { name: key, exact: true });
}

/** Nothing is wider than the phone's screen. */
export async function expectNoSideways(page: Page): Promise<void> {
  const width = page.viewportSize()?.width ?? 0;
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

const screenshotDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');

/** The README's pictures come from the tests; written only with UPDATE_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), animations: 'disabled', scale: 'css' });
}

/** A GraphQL call as `client`'s user (another person's change, through the public API). */
export async function gql<T = Record<string, unknown>>(client: RestClient, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return graphql<T>(stack.graphqlUrl, await client.freshToken(), query, variables);
}

export const SET_CONFIG = `mutation($p: ID!, $k: String!, $v: JSON, $e: Int) { setConfig(projectId: $p, key: $k, value: $v, expectedVersion: $e) { id version } }`;

/** A REST client signed in as `user` (to set the scene as that person). */
export function clientFor(user: { email: string; password: string }): Promise<RestClient> {
  return RestClient.login(stack.restUrl, user.email, user.password);
}

interface Fixtures {
  admin: RestClient;
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
