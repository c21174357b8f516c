import { uniq } from '@platform-sm/testkit';
import { expect, screenshot, signIn, stack, test } from './fixtures';

test('an admin creates a project, adds a member and sets a config', async ({ page, admin, newUser }) => {
  const member = await newUser({ name: 'Grace' });
  const picked = await newUser({ name: 'Linus' });
  const slug = `shop-${uniq()}`;
  await signIn(page, stack.admin.email, stack.admin.password);

  await page.getByRole('menuitem', { name: 'Projects' }).click();
  await page.getByRole('link', { name: 'Create' }).click();
  // Textboxes by role: until the create form has replaced the list, getByLabel('Name') can also
  // match the list's "Sort by name" header (seen failing in a full run).
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Demo shop');
  await page.getByRole('textbox', { name: 'Slug', exact: true }).fill(slug);
  await page.getByRole('textbox', { name: 'Description', exact: true }).fill('The shop of the demo');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText(slug)).toBeVisible();

  await page.getByRole('tab', { name: 'Members' }).click();
  await page.getByRole('link', { name: 'Add member' }).click();
  await page.getByLabel('Email of the user').fill(member.email);
  await page.getByLabel('Editor (also writes configs)').check();
  await page.getByRole('button', { name: 'Save' }).click();
  const row = page.getByRole('row').filter({ hasText: member.email });
  await expect(row).toBeVisible();
  await expect(row.getByRole('cell', { name: 'editor' })).toBeVisible();

  // Admins may also pick the user from the list instead of typing the email.
  await page.getByRole('link', { name: 'Add member' }).click();
  await page.getByLabel('…or pick a user').fill(picked.email);
  await page.getByRole('option', { name: picked.email }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('row').filter({ hasText: picked.email })).toContainText('viewer');
  await screenshot(page, 'project-members');

  await page.getByRole('tab', { name: 'Configs' }).click();
  await page.getByRole('link', { name: 'Add config' }).click();
  await page.getByLabel('Key').fill('checkout.enabled');
  // Not JSON: the field says so and nothing is sent.
  await page.getByLabel('Value (JSON)').fill('{enabled: yes');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText(/Not valid JSON/)).toBeVisible();
  await page.getByLabel('Value (JSON)').fill('{"enabled": true, "limit": 3}');
  await page.getByRole('button', { name: 'Save' }).click();
  const config = page.getByRole('row').filter({ hasText: 'checkout.enabled' });
  await expect(config).toContainText('"limit": 3');
  await screenshot(page, 'project-configs');

  // The API agrees.
  const projects = await admin.get<{ id: string; slug: string }[]>(`/projects?filter=${encodeURIComponent(JSON.stringify({ slug }))}`);
  expect(projects).toHaveLength(1);
});
