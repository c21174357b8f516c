// My projects: create one, find it by search, sort; personal API tokens.
import { clientFor, expect, personIn, screenshot, test } from './fixtures.ts';

test('creates a project, finds projects by search, sorts them', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Pia Projects' });
  const api = await clientFor(user);
  await api.createProject({ name: 'Alpha billing' });
  await api.createProject({ name: 'Zulu search' });
  const page = await personIn(browser, user);

  await page.getByRole('button', { name: 'New project' }).click();
  const dialog = page.getByRole('dialog', { name: 'New project' });
  await dialog.getByLabel('Name').fill('Mobile checkout');
  await expect(dialog.getByLabel('Slug')).toHaveValue('mobile-checkout');
  await dialog.getByLabel('Slug').fill(`mobile-checkout-${Date.now()}`);
  await dialog.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Mobile checkout' })).toBeVisible();
  await expect(page.getByText('You: Owner')).toBeVisible();

  // A first config, with a JSON mistake caught before it is sent.
  await page.getByRole('button', { name: 'Add config' }).click();
  await page.getByLabel('Key').fill('checkout.steps');
  await page.getByLabel('Value (JSON)').fill("['cart', 'pay']");
  await expect(page.getByText(/Not valid JSON/)).toBeVisible();
  await page.getByLabel('Value (JSON)').fill('["cart", "pay"]');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByLabel('Value of checkout.steps')).toContainText('"cart"');
  await screenshot(page, 'web-project-owner');

  await page.getByRole('link', { name: 'Platform SM' }).click();
  const list = page.getByRole('list', { name: 'Projects' });
  await expect(list.getByRole('button')).toHaveCount(3);
  await expect(list.getByRole('button').first()).toContainText('Alpha billing');
  await page.getByLabel('Sort by').selectOption({ label: 'Newest' });
  await expect(list.getByRole('button').first()).toContainText('Mobile checkout');
  await page.getByLabel('Search projects').fill('zulu');
  await expect(list.getByRole('button')).toHaveCount(1);
  await expect(list).toContainText('Zulu search');
  await screenshot(page, 'web-projects');
});

test('creates a personal API token, shown once, and revokes it', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Tom Tokens' });
  const page = await personIn(browser, user);
  await page.getByRole('button', { name: 'Account menu' }).click();
  await page.getByRole('menuitem', { name: 'Account and API tokens' }).click();
  await expect(page.getByRole('heading', { name: 'Account' })).toBeVisible();
  await expect(page.getByText(user.email)).toBeVisible();
  await page.getByLabel('Token name').fill('ci deploys');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.getByLabel('New API token', { exact: true }).textContent();
  expect(token).toMatch(/^psm_/);
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByLabel('New API token', { exact: true })).toHaveCount(0);

  // The token works until it is revoked.
  const me = async () =>
    (await fetch(`${(await import('./fixtures.ts')).stack.restUrl}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status;
  expect(await me()).toBe(200);
  await page.getByRole('button', { name: 'Revoke ci deploys' }).click();
  await expect(page.getByRole('list', { name: 'Tokens created here' })).toContainText('Revoked');
  expect(await me()).toBe(401);
});
