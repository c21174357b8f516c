// Losing access while looking: the owner removes the viewer; the viewer's open page says so and
// leaves. A project URL of someone else's project shows "not found", not a blank screen.
import { clientFor, expect, openProject, personIn, stack, test, webUrl } from './fixtures.ts';

test('the owner removes the viewer; the viewer’s page tells them and leaves', async ({ browser, newUser }) => {
  const ownerUser = await newUser({ name: 'Orla Owner' });
  const viewerUser = await newUser({ name: 'Vik Viewer' });
  const owner = await clientFor(ownerUser);
  const project = await owner.createProject({ name: 'Shared roadmap' });
  await owner.addMember(project.id, viewerUser.id, 'viewer');

  const ownerPage = await personIn(browser, ownerUser);
  const viewerPage = await personIn(browser, viewerUser);
  await openProject(viewerPage, 'Shared roadmap');
  await openProject(ownerPage, 'Shared roadmap');
  await ownerPage.getByRole('tab', { name: 'Members' }).click();
  await ownerPage.getByRole('button', { name: 'Remove Vik Viewer' }).click();
  await expect(ownerPage.getByRole('list', { name: 'Members' })).not.toContainText('Vik Viewer');

  await expect(viewerPage.getByRole('alert')).toHaveText('You no longer have access to “Shared roadmap”.');
  await expect(viewerPage.getByRole('heading', { name: 'My projects' })).toBeVisible();
  await expect(viewerPage.getByRole('button', { name: 'Shared roadmap' })).toHaveCount(0);
});

test('owners add members by email and change roles; a non-member’s link shows not found', async ({ browser, newUser }) => {
  const ownerUser = await newUser({ name: 'Omar Owner' });
  const other = await newUser({ name: 'Eve Editor' });
  const outsider = await newUser({ name: 'Oscar Outsider' });
  const owner = await clientFor(ownerUser);
  const project = await owner.createProject({ name: 'Team settings' });
  const page = await personIn(browser, ownerUser);
  await openProject(page, 'Team settings');
  await page.getByRole('tab', { name: 'Members' }).click();
  await page.getByLabel('Email of the person to add').fill('nobody@e2e.test');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByText('No user has the email nobody@e2e.test.')).toBeVisible();
  await page.getByLabel('Email of the person to add').fill(other.email);
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByRole('list', { name: 'Members' })).toContainText('Eve Editor');
  await page.getByLabel('Role of Eve Editor').selectOption({ label: 'Editor' });
  await expect(page.getByLabel('Role of Eve Editor')).toHaveValue('EDITOR');
  // Saved: the list, fetched again, still says so.
  await page.reload();
  await expect(page.getByLabel('Role of Eve Editor')).toHaveValue('EDITOR');

  const outsiderPage = await personIn(browser, outsider);
  await outsiderPage.goto(`${webUrl}#/projects/${project.id}/configs`);
  await expect(outsiderPage.getByText('This project does not exist, or you are not a member of it.')).toBeVisible();
  void stack;
});

test('added to a project by someone else: it appears in my open list of projects', async ({ browser, newUser }) => {
  const ownerUser = await newUser({ name: 'Nora Newproject' });
  const joiner = await newUser({ name: 'Jo Joiner' });
  const owner = await clientFor(ownerUser);
  const project = await owner.createProject({ name: 'Fresh start' });
  const page = await personIn(browser, joiner);
  await expect(page.getByText('You are not a member of any project yet.', { exact: false })).toBeVisible();
  await owner.addMember(project.id, joiner.id, 'editor');
  await expect(page.getByRole('list', { name: 'Projects' }).getByRole('button', { name: /Fresh start/ })).toBeVisible();
});
