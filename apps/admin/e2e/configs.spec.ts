import { RestClient } from '@platform-sm/testkit';
import { adminUrl, expect, screenshot, signIn, stack, test } from './fixtures';

test('a config changed by someone else while being edited: notice, refused save, reload, save', async ({
  page,
  admin,
  newUser,
}) => {
  // An editor in the browser, and a colleague who edits the same config through the API.
  const editor = await newUser({ name: 'Editor' });
  const colleague = await newUser({ name: 'Colleague' });
  const project = await admin.createProject({ name: 'Conflicts' });
  await admin.addMember(project.id, editor.id, 'editor');
  await admin.addMember(project.id, colleague.id, 'editor');
  const config = await admin.setConfig(project.id, 'feature.banner', 'hello');
  const other = await RestClient.login(stack.restUrl, colleague.email, colleague.password);

  await signIn(page, editor.email, editor.password);
  await page.goto(`${adminUrl}#/configs/${config.id}`);
  const value = page.getByLabel('Value (JSON)');
  await expect(value).toHaveValue('"hello"');
  await value.fill('"mine"');

  await other.updateConfig(await other.getConfig(config.id), 'theirs');
  // Live: the form says so before the user even saves, and keeps what they typed.
  await expect(page.getByText('This config was changed by someone else')).toBeVisible();
  await expect(value).toHaveValue('"mine"');
  await screenshot(page, 'config-conflict');

  // Saving anyway is refused (stale version), with the same choice.
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Your save was refused because it is based on an older version.')).toBeVisible();
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(value).toHaveValue('"theirs"');
  await expect(page.getByText('This config was changed by someone else')).toBeHidden();

  await value.fill('"merged"');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('row').filter({ hasText: 'feature.banner' })).toContainText('"merged"');
  const saved = await admin.getConfig(config.id);
  expect(saved).toMatchObject({ value: 'merged', version: 3 });
});

test('keeping my edits on top of the newer version', async ({ page, admin }) => {
  const project = await admin.createProject({ name: 'Rebase' });
  const config = await admin.setConfig(project.id, 'limits', { a: 1 });
  await signIn(page, stack.admin.email, stack.admin.password);
  await page.goto(`${adminUrl}#/configs/${config.id}`);
  const description = page.getByLabel('Description');
  await description.fill('my note');
  await admin.updateConfig(await admin.getConfig(config.id), { a: 2 });
  await expect(page.getByText('This config was changed by someone else')).toBeVisible();
  await page.getByRole('button', { name: 'Keep my changes' }).click();
  // Their value, my description.
  await expect(page.getByLabel('Value (JSON)')).toHaveValue(/"a": 2/);
  await expect(description).toHaveValue('my note');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('row').filter({ hasText: 'limits' })).toContainText('"a": 2');
  expect(await admin.getConfig(config.id)).toMatchObject({ value: { a: 2 }, description: 'my note', version: 3 });
});

test('rolling a config back to an earlier version', async ({ page, admin }) => {
  const project = await admin.createProject({ name: 'History' });
  let config = await admin.setConfig(project.id, 'checkout.limit', { max: 1 });
  config = await admin.updateConfig(config, { max: 2 });
  config = await admin.updateConfig(config, { max: 3, note: 'too high' });

  await signIn(page, stack.admin.email, stack.admin.password);
  await page.goto(`${adminUrl}#/configs/${config.id}/show`);
  const history = page.getByRole('row').filter({ hasText: /^\s*1\s*set/ });
  await expect(page.getByRole('row')).toHaveCount(4); // header + three versions
  const v1 = page.getByRole('row', { name: /^1 set/ });
  await v1.getByRole('cell', { name: '1', exact: true }).click();
  const diff = page.getByLabel('Diff of version 1');
  await expect(diff).toContainText('-   "max": 3,');
  await expect(diff).toContainText('+   "max": 1');
  await screenshot(page, 'config-history');
  void history;

  await v1.getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByText('Rolled back to version 1; the config is now at version 4.')).toBeVisible();
  await expect(page.getByRole('row', { name: /^4 rollback/ })).toBeVisible();
  expect(await admin.getConfig(config.id)).toMatchObject({ value: { max: 1 }, version: 4 });
});
