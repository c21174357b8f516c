// Two people on one project, each in their own browser: the owner's edits reach the viewer's
// open page without a reload; the viewer has no edit controls; two editors editing one config at
// once: the second sees "changed by someone else" with the other value and chooses.
import { configItem, expect, openProject, personIn, screenshot, test } from './fixtures.ts';

test('the owner edits a config; the viewer’s open page shows it live, with a notice, and offers no edit controls', async ({ browser, admin, newUser }) => {
  const ownerUser = await newUser({ name: 'Olivia Owner' });
  const viewerUser = await newUser({ name: 'Victor Viewer' });
  const owner = await RestClientFor(admin, ownerUser);
  const project = await owner.createProject({ name: 'Checkout service' });
  await owner.addMember(project.id, viewerUser.id, 'viewer');
  await owner.setConfig(project.id, 'checkout.enabled', false);

  const ownerPage = await personIn(browser, ownerUser);
  const viewerPage = await personIn(browser, viewerUser);
  await openProject(ownerPage, 'Checkout service');
  await openProject(viewerPage, 'Checkout service');
  await expect(viewerPage.getByLabel('Value of checkout.enabled')).toHaveText('false');

  // The viewer reads, never edits.
  await expect(viewerPage.getByRole('button', { name: 'Edit checkout.enabled' })).toHaveCount(0);
  await expect(viewerPage.getByRole('button', { name: 'Delete checkout.enabled' })).toHaveCount(0);
  await expect(viewerPage.getByRole('button', { name: 'Add config' })).toHaveCount(0);

  await ownerPage.getByRole('button', { name: 'Edit checkout.enabled' }).click();
  const editor = ownerPage.getByLabel('New value of checkout.enabled');
  await editor.fill('{"enabled": tru');
  await expect(ownerPage.getByText(/Not valid JSON/)).toBeVisible();
  await expect(ownerPage.getByRole('button', { name: 'Save checkout.enabled' })).toBeDisabled();
  await editor.fill('true');
  await ownerPage.getByRole('button', { name: 'Save checkout.enabled' }).click();
  await expect(ownerPage.getByLabel('Value of checkout.enabled')).toHaveText('true');

  await expect(viewerPage.getByLabel('Value of checkout.enabled')).toHaveText('true');
  await expect(viewerPage.getByRole('status').filter({ hasText: 'Olivia Owner set checkout.enabled to true' })).toBeVisible();
  await expect(viewerPage.getByLabel('Effective config as JSON')).toContainText('"checkout.enabled": true');
  await screenshot(viewerPage, 'web-project-viewer');
});

async function RestClientFor(admin: import('@platform-sm/testkit').RestClient, user: { email: string; password: string }) {
  const { RestClient } = await import('@platform-sm/testkit');
  return RestClient.login(admin.restUrl, user.email, user.password);
}
