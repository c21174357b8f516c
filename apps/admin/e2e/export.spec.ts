import { readFileSync } from 'node:fs';
import { adminUrl, expect, screenshot, signIn, stack, test } from './fixtures';

test('an owner exports a project and downloads the document', async ({ page, admin }) => {
  const project = await admin.createProject({ name: 'Exported' });
  await admin.setConfig(project.id, 'export.me', [1, 2, 3]);
  await signIn(page, stack.admin.email, stack.admin.password);
  await page.goto(`${adminUrl}#/projects/${project.id}/show`);
  await page.getByRole('button', { name: 'Export' }).click();

  // The task page follows the task live until it has succeeded.
  await expect(page.getByText('project.export')).toBeVisible();
  const download = page.getByRole('button', { name: 'Download export' });
  await expect(download).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText('succeeded')).toBeVisible();
  await screenshot(page, 'task-export');

  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  const doc = JSON.parse(readFileSync(await file.path(), 'utf8'));
  expect(file.suggestedFilename()).toMatch(/\.json$/);
  expect(JSON.stringify(doc)).toContain(project.slug);
  expect(JSON.stringify(doc)).toContain('export.me');
});
