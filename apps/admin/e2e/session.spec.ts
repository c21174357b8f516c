import { RestClient, uniq } from '@platform-sm/testkit';
import { ACCESS_TOKEN_TTL_SECS } from './global-setup';
import { adminUrl, expect, signIn, stack, test } from './fixtures';

test('token refresh keeps a session alive past the access token lifetime', async ({ page, admin, newUser }) => {
  test.setTimeout(120_000);
  const user = await newUser({ name: 'Long session' });
  const project = await admin.createProject({ name: 'Stays live' });
  await admin.addMember(project.id, user.id, 'editor');
  await signIn(page, user.email, user.password);
  const firstToken = await page.evaluate(() => JSON.parse(localStorage.getItem('platform-sm.session')!).accessToken);

  // Two rotations: the first access token is long expired after the second.
  for (let i = 0; i < 2; i++) {
    const r = await page.waitForResponse((r) => r.url().endsWith('/auth/refresh'), { timeout: ACCESS_TOKEN_TTL_SECS * 1000 });
    expect(r.status()).toBe(200);
  }
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('platform-sm.session')!).accessToken);
  expect(token).not.toBe(firstToken);
  await expect(async () => {
    const r = await fetch(`${stack.restUrl}/auth/me`, { headers: { authorization: `Bearer ${firstToken}` } });
    expect(r.status).toBe(401);
  }).toPass();

  // Still signed in: pages load, and live updates still arrive on the refreshed connection.
  await page.goto(`${adminUrl}#/projects/${project.id}/show/configs`);
  await expect(page.getByText('Stays live').first()).toBeVisible();
  const key = `after.refresh.${uniq()}`;
  await admin.setConfig(project.id, key, 1);
  await expect(page.getByRole('row').filter({ hasText: key })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign in' })).toHaveCount(0);
});

test('a refresh token used by someone else ends the session in the panel', async ({ page, newUser }) => {
  test.setTimeout(90_000);
  const user = await newUser({ name: 'Stolen' });
  await signIn(page, user.email, user.password);
  const session = await page.evaluate(() => JSON.parse(localStorage.getItem('platform-sm.session')!));
  // Someone replays the refresh token first: when the panel presents it, core-svc sees a reuse
  // and revokes the whole session.
  const r = await fetch(`${stack.restUrl}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: session.refreshToken }),
  });
  expect(r.status).toBe(200);
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible({ timeout: ACCESS_TOKEN_TTL_SECS * 1000 });
  void RestClient;
});
