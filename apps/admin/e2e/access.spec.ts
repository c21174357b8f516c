import { adminUrl, expect, screenshot, signIn, test } from './fixtures';

test('a viewer sees the project but no edit, delete or add buttons, and no admin screens', async ({
  page,
  admin,
  newUser,
}) => {
  const viewer = await newUser({ name: 'Viewer' });
  const owner = await newUser({ name: 'Owner' });
  const project = await admin.createProject({ name: 'Read only' });
  await admin.addMember(project.id, viewer.id, 'viewer');
  await admin.addMember(project.id, owner.id, 'owner');
  await admin.setConfig(project.id, 'visible.to.viewers', 'yes');

  await signIn(page, viewer.email, viewer.password);
  await expect(page.getByRole('menuitem', { name: 'Projects' })).toBeVisible();
  for (const adminOnly of ['Users', 'Settings', 'Audit log']) {
    await expect(page.getByRole('menuitem', { name: adminOnly })).toHaveCount(0);
  }
  await page.getByRole('menuitem', { name: 'Projects' }).click();
  // A member sees their projects only: this one.
  await expect(page.getByRole('row')).toHaveCount(2);
  await page.getByRole('cell', { name: project.slug }).click();
  await expect(page.getByText('viewer', { exact: true })).toBeVisible();
  for (const name of ['Edit', 'Delete', 'Archive', 'Export']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0);
    await expect(page.getByRole('link', { name })).toHaveCount(0);
  }
  await page.getByRole('tab', { name: 'Members' }).click();
  await expect(page.getByRole('row').filter({ hasText: owner.email })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Add member' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Change role' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await page.getByRole('tab', { name: 'Configs' }).click();
  await expect(page.getByRole('row').filter({ hasText: 'visible.to.viewers' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Add config' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Edit' })).toHaveCount(0);
  await screenshot(page, 'viewer-configs');
});

test("a project URL of someone else's project shows not found", async ({ page, admin, newUser }) => {
  const outsider = await newUser({ name: 'Outsider' });
  const project = await admin.createProject({ name: 'Private' });
  await signIn(page, outsider.email, outsider.password);
  await page.goto(`${adminUrl}#/projects/${project.id}/show`);
  await expect(page.getByRole('alert').filter({ hasText: 'Project not found' })).toBeVisible();
  await expect(page.getByText('Private')).toHaveCount(0);
});

test('removing the last owner is refused with a message', async ({ page, admin, newUser }) => {
  const owner = await newUser({ name: 'Sole owner' });
  const project = await admin.createProject({ name: 'Keeps an owner' });
  await admin.addMember(project.id, owner.id, 'owner');
  // The admin who created it hands over: only `owner` remains an owner.
  const members = await admin.get<{ id: string; user_id: string }[]>(
    `/members?filter=${encodeURIComponent(JSON.stringify({ project_id: project.id }))}`,
  );
  const mine = members.find((m) => m.user_id === admin.userId)!;
  await admin.del(`/members/${mine.id}`);

  await signIn(page, owner.email, owner.password);
  await page.goto(`${adminUrl}#/projects/${project.id}/show/members`);
  const row = page.getByRole('row').filter({ hasText: owner.email });
  await row.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByText(/must keep at least one owner/)).toBeVisible();
  await expect(row).toBeVisible();
});
