import { adminUrl, expect, screenshot, signIn, test } from './fixtures';

test('an owner adds a webhook: the server refuses a bad secret next to its field, then shows the new secret once', async ({
  page,
  admin,
  newUser,
}) => {
  const owner = await newUser({ name: 'Hook owner' });
  const project = await admin.createProject({ name: 'Hooked' });
  await admin.addMember(project.id, owner.id, 'owner');
  await signIn(page, owner.email, owner.password);
  await page.goto(`${adminUrl}#/projects/${project.id}/show/webhooks`);
  await page.getByRole('link', { name: 'Add webhook' }).click();

  // A loopback address nothing listens on (the suite's core-svc allows private targets): deliveries
  // fail fast and stay on this machine.
  // A loopback address nothing listens on (the suite's core-svc allows private targets), so
  // deliveries fail at once and never leave the machine.
  await page.getByLabel('URL').fill('http://127.0.0.1:9/platform');
  const secret = page.getByLabel('Secret (optional; one is generated when empty)');
  await secret.fill('too short');
  await page.getByRole('button', { name: 'Save' }).click();
  // core-svc's field violation (problem+json errors[]) under the field it is about.
  await expect(secret).toHaveAccessibleDescription(/16 to 256 printable ASCII characters/);

  await secret.fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Copy its signing secret now: it is not shown again.')).toBeVisible();
  const shown = (await page.getByLabel('Signing secret').textContent()) ?? '';
  expect(shown.length).toBeGreaterThanOrEqual(16);
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByRole('row').filter({ hasText: 'http://127.0.0.1:9/platform' })).toBeVisible();
  // Never again: the API does not return it.
  const hooks = await admin.get<Record<string, unknown>[]>(
    `/webhooks?filter=${encodeURIComponent(JSON.stringify({ project_id: project.id }))}`,
  );
  expect(hooks).toHaveLength(1);
  expect(hooks[0]).not.toHaveProperty('secret');
});

test('an API token is shown once, then listed by its prefix and revocable', async ({ page, newUser }) => {
  const user = await newUser({ name: 'Tooling' });
  await signIn(page, user.email, user.password);
  await page.getByRole('menuitem', { name: 'API tokens' }).click();
  await page.getByRole('link', { name: 'Create' }).click();
  await page.getByLabel('Name').fill('deploy-bot');
  await page.getByRole('button', { name: 'Save' }).click();
  const token = (await page.getByLabel('API token').textContent()) ?? '';
  expect(token).toMatch(/^psm_/);
  await screenshot(page, 'api-token-created');
  await page.getByRole('button', { name: 'Done' }).click();
  const row = page.getByRole('row').filter({ hasText: 'deploy-bot' });
  await expect(row).toBeVisible();
  await expect(row).not.toContainText(token);

  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(row.getByRole('button', { name: 'Revoke' })).toHaveCount(0);
});
