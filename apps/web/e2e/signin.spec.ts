// Signing in and out, and what the page says when something goes wrong: a wrong password, a
// session ended elsewhere, a server that fails or cannot be reached — messages, never a blank page.
import { clientFor, expect, gql, personIn, SET_CONFIG, signIn, stack, test, webUrl } from './fixtures.ts';

test('a wrong password is refused with a message; the right one signs in; signing out sticks', async ({ page, newUser }) => {
  const user = await newUser({ name: 'Sam Signin' });
  await page.goto(webUrl);
  await expect(page.getByRole('heading', { name: 'Sign in to Platform SM' })).toBeVisible();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill('not-my-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'My projects' })).toBeVisible();
  await expect(page.getByText('You are not a member of any project yet.', { exact: false })).toBeVisible();

  await page.getByRole('button', { name: 'Account menu' }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('a session ended elsewhere (signed out by its refresh token) sends the page to sign-in with a message', async ({ page, newUser }) => {
  const user = await newUser({ name: 'Ellie Elsewhere' });
  const owner = await clientFor(user);
  await owner.createProject({ name: 'Ended session' });
  await signIn(page, user);
  await page.getByRole('button', { name: 'Ended session' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Ended session' })).toBeVisible();
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('platform-sm.web.session') ?? '{}') as { refreshToken: string });
  const r = await fetch(`${stack.restUrl}/auth/logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: stored.refreshToken }),
  });
  expect(r.ok).toBe(true);
  // The live connection hears of it first; the page goes to sign-in and says why.
  await expect(page.getByText('Your session has ended. Sign in again.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('server errors and an unreachable server are messages with a retry', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Fay Failure' });
  const owner = await clientFor(user);
  await owner.createProject({ name: 'Flaky backend' });
  const page = await personIn(browser, user);

  // The project's query meets a failing server (HTTP 500 without a GraphQL body), then one that
  // cannot be reached at all; the rest of the page's requests go through.
  const projectQuery = (route: import('@playwright/test').Route) => route.request().postData()?.includes('query Project(') === true;
  await page.route('**/graphql', (route) => (projectQuery(route) ? route.fulfill({ status: 500, body: 'upstream exploded' }) : route.continue()));
  await page.getByRole('button', { name: 'Flaky backend' }).click();
  await expect(page.getByRole('alert')).toContainText('The service is unavailable right now');
  await page.unroute('**/graphql');
  await page.route('**/graphql', (route) => (projectQuery(route) ? route.abort('connectionrefused') : route.continue()));
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByRole('alert')).toContainText('Cannot reach the server');
  await page.unroute('**/graphql');
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Flaky backend' })).toBeVisible();

  // A live refetch that fails keeps what is on screen and says so.
  const project = (await owner.get<Array<{ id: string; name: string }>>('/projects')).find((p) => p.name === 'Flaky backend')!;
  await owner.setConfig(project.id, 'mode', 'a');
  await expect(page.getByLabel('Value of mode')).toHaveText('"a"');
  await page.route('**/graphql', (route) =>
    route.request().postData()?.includes('query Configs(') ? route.fulfill({ status: 503, body: 'restarting' }) : route.continue(),
  );
  await gql(owner, SET_CONFIG, { p: project.id, k: 'extra', v: 'b' });
  await expect(page.getByRole('alert').filter({ hasText: 'Could not refresh' })).toBeVisible();
  await expect(page.getByLabel('Value of mode')).toHaveText('"a"');
  await expect(page.getByLabel('Value of extra')).toHaveCount(0);
  await page.unroute('**/graphql');
  await page.getByRole('alert').filter({ hasText: 'Could not refresh' }).getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByLabel('Value of extra')).toHaveText('"b"');
  await expect(page.getByRole('alert').filter({ hasText: 'Could not refresh' })).toHaveCount(0);

  // A refused write is said where it happened (an invalid key, checked by the server).
  await page.getByRole('button', { name: 'Add config' }).click();
  await page.getByLabel('Key').fill('Not A Valid Key');
  await page.getByLabel('Value (JSON)').fill('1');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a config' });
  await expect(dialog.getByText('must be 1-128 characters of a-z', { exact: false })).toBeVisible();
  await expect(dialog.getByLabel('Key')).toHaveAttribute('aria-invalid', 'true');
});
