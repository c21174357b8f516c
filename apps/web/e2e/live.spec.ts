// Two people on one project, each in their own browser: the owner's edits reach the viewer's
// open page without a reload; the viewer has no edit controls; two editors editing one config at
// once: the second sees "changed by someone else" with the other value and chooses.
import { clientFor, expect, gql, openProject, personIn, screenshot, SET_CONFIG, test } from './fixtures.ts';

test('the owner edits a config; the viewer’s open page shows it live, with a notice, and offers no edit controls', async ({ browser, newUser }) => {
  const ownerUser = await newUser({ name: 'Olivia Owner' });
  const viewerUser = await newUser({ name: 'Victor Viewer' });
  const owner = await clientFor(ownerUser);
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


test('two editors change one config at once: the second sees the other value and chooses', async ({ browser, newUser }) => {
  const anna = await newUser({ name: 'Anna Editor' });
  const ben = await newUser({ name: 'Ben Editor' });
  const owner = await clientFor(anna);
  const project = await owner.createProject({ name: 'Pricing' });
  await owner.addMember(project.id, ben.id, 'editor');
  await owner.setConfig(project.id, 'price.eur', 10);

  const annaPage = await personIn(browser, anna);
  const benPage = await personIn(browser, ben);
  for (const page of [annaPage, benPage]) {
    await openProject(page, 'Pricing');
    await page.getByRole('button', { name: 'Edit price.eur' }).click();
  }
  await annaPage.getByLabel('New value of price.eur').fill('12');
  await annaPage.getByRole('button', { name: 'Save price.eur' }).click();
  await expect(annaPage.getByLabel('Value of price.eur')).toHaveText('12');

  // Ben's open editor learns of it live, before he saves: their value above his draft.
  const conflict = benPage.getByRole('alert').filter({ hasText: 'Changed by someone else' });
  await expect(conflict).toContainText('Anna Editor saved version 2');
  await expect(conflict.getByLabel('Their value')).toHaveText('12');
  await benPage.getByLabel('New value of price.eur').fill('15');
  await screenshot(benPage, 'web-conflict');
  await conflict.getByRole('button', { name: 'Apply mine' }).click();
  await expect(benPage.getByLabel('Value of price.eur')).toHaveText('15');
  await expect(annaPage.getByLabel('Value of price.eur')).toHaveText('15');

  // Saved over a version that is already gone (no live notice in between): the same choice.
  await benPage.getByRole('button', { name: 'Edit price.eur' }).click();
  await benPage.getByLabel('New value of price.eur').fill('20');
  let held = false;
  await benPage.route('**/graphql', async (route) => {
    // Hold Ben's save until Anna's write has landed, so his expected version is stale.
    if (!held && route.request().postData()?.includes('mutation SetConfig')) {
      held = true;
      await gql(owner, SET_CONFIG, { p: project.id, k: 'price.eur', v: 18 });
    }
    await route.continue();
  });
  await benPage.getByRole('button', { name: 'Save price.eur' }).click();
  const again = benPage.getByRole('alert').filter({ hasText: 'Changed by someone else' });
  await expect(again.getByLabel('Their value')).toHaveText('18');
  await benPage.unroute('**/graphql');
  await again.getByRole('button', { name: 'Keep theirs' }).click();
  await expect(benPage.getByLabel('Value of price.eur')).toHaveText('18');
  await expect(benPage.getByRole('alert').filter({ hasText: 'Changed by someone else' })).toHaveCount(0);
});

test('the owner archives the project: an editor’s open page turns read-only at once; unarchiving brings the controls back', async ({ browser, newUser }) => {
  const ownerUser = await newUser({ name: 'Ada Archiver' });
  const editorUser = await newUser({ name: 'Ed Editor' });
  const owner = await clientFor(ownerUser);
  const project = await owner.createProject({ name: 'Legacy API' });
  await owner.addMember(project.id, editorUser.id, 'editor');
  await owner.setConfig(project.id, 'timeout.ms', 3000);
  const ownerPage = await personIn(browser, ownerUser);
  const editorPage = await personIn(browser, editorUser);
  await openProject(editorPage, 'Legacy API');
  await openProject(ownerPage, 'Legacy API');
  await expect(editorPage.getByRole('button', { name: 'Edit timeout.ms' })).toBeVisible();

  await ownerPage.getByRole('button', { name: 'Archive' }).click();
  await expect(ownerPage.getByText('This project is archived')).toBeVisible();
  await expect(editorPage.getByText('This project is archived')).toBeVisible();
  await expect(editorPage.getByRole('button', { name: 'Edit timeout.ms' })).toHaveCount(0);
  await expect(editorPage.getByRole('status').filter({ hasText: 'Ada Archiver archived the project' })).toBeVisible();

  await ownerPage.getByRole('button', { name: 'Unarchive' }).click();
  await expect(editorPage.getByRole('button', { name: 'Edit timeout.ms' })).toBeVisible();
  await expect(editorPage.getByText('This project is archived')).toHaveCount(0);
});
