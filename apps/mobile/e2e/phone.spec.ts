// The mobile app's main flows on a phone-sized screen against the real stack: sign in, open a
// project, another person's write arrives live (with the in-app notice), an editor's change is
// saved, a viewer cannot edit; and a conflict between two editors.
import { clientFor, configItem, expect, expectNoSideways, gql, openProject, personIn, screenshot, SET_CONFIG, test } from './fixtures.ts';

test('an editor signs in, opens a project, sees a colleague’s write live, and saves a change', async ({ browser, newUser }) => {
  const owner = await newUser({ name: 'Olga Owner' });
  const editor = await newUser({ name: 'Eddie Editor' });
  const api = await clientFor(owner);
  const project = await api.createProject({ name: 'Phone launch' });
  await api.addMember(project.id, editor.id, 'editor');
  await api.setConfig(project.id, 'release.channel', 'beta');
  await api.setConfig(project.id, 'release.percent', 10);

  const page = await personIn(browser, editor);
  await expect(page.getByRole('button', { name: 'Phone launch', exact: true })).toBeVisible();
  await screenshot(page, 'mobile-projects');
  await openProject(page, 'Phone launch');
  await expect(page.getByLabel('Value of release.channel', { exact: true })).toHaveText('"beta"');
  await expectNoSideways(page);

  // Someone else's write arrives without a reload, with a notice saying who did what.
  await gql(api, SET_CONFIG, { p: project.id, k: 'release.percent', v: 25 });
  await expect(page.getByLabel('Value of release.percent', { exact: true })).toHaveText('25');
  await expect(page.getByRole('status').filter({ hasText: 'Olga Owner set release.percent to 25' })).toBeVisible();
  await screenshot(page, 'mobile-project-live');

  // The editor's own change: bad JSON first (refused next to the field), then saved.
  const row = configItem(page, 'release.channel');
  await row.getByRole('button', { name: 'Edit release.channel' }).click();
  const editor_ = page.getByLabel('New value of release.channel', { exact: true });
  await editor_.fill('stable');
  await expect(row.getByText(/^Not valid JSON/)).toBeVisible();
  await expect(row.getByRole('button', { name: 'Save release.channel' })).toBeDisabled();
  await editor_.fill('"stable"');
  await screenshot(page, 'mobile-edit');
  await row.getByRole('button', { name: 'Save release.channel' }).click();
  await expect(page.getByLabel('Value of release.channel', { exact: true })).toHaveText('"stable"');
  // Saved on the server, by this person.
  const saved = await gql<{ project: { config: { value: unknown; version: number; updatedBy: string } } }>(
    api,
    `query($p: ID!) { project(id: $p) { config(key: "release.channel") { value version updatedBy } } }`,
    { p: project.id },
  );
  expect(saved.project.config).toEqual({ value: 'stable', version: 2, updatedBy: editor.id });
  // One's own change brings no notice.
  await expect(page.getByRole('status').filter({ hasText: 'set release.channel' })).toHaveCount(0);

  // The config's recent history.
  await row.getByRole('button', { name: 'History of release.channel' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'History of release.channel' })).toBeVisible();
  await expect(page.getByRole('listitem', { name: 'Version 2' })).toContainText('set by You');
  await expect(page.getByLabel('Value of version 1', { exact: true })).toHaveText('"beta"');
  await screenshot(page, 'mobile-history');
  await page.getByRole('button', { name: 'Back to Phone launch' }).click();
  await expect(page.getByLabel('Value of release.channel', { exact: true })).toHaveText('"stable"');
});

test('a viewer reads configs and members but has nothing to edit', async ({ browser, newUser }) => {
  const owner = await newUser({ name: 'Olga Owner' });
  const viewer = await newUser({ name: 'Vera Viewer' });
  const api = await clientFor(owner);
  const project = await api.createProject({ name: 'Read only here' });
  await api.addMember(project.id, viewer.id, 'viewer');
  await api.setConfig(project.id, 'feature.enabled', true);

  const page = await personIn(browser, viewer);
  await openProject(page, 'Read only here');
  await expect(page.getByText('Viewer', { exact: true }).filter({ visible: true })).toBeVisible();
  await expect(page.getByLabel('Value of feature.enabled', { exact: true })).toHaveText('true');
  await expect(page.getByRole('button', { name: /^Edit / })).toHaveCount(0);
  await expect(page.getByText('You can read these configs; editors and owners change them.')).toBeVisible();
  // Live for viewers too.
  await gql(api, SET_CONFIG, { p: project.id, k: 'feature.enabled', v: false });
  await expect(page.getByLabel('Value of feature.enabled', { exact: true })).toHaveText('false');

  await page.getByRole('tab', { name: 'Members' }).click();
  const members = page.getByRole('list', { name: 'Members' });
  await expect(members.getByRole('listitem', { name: 'Olga Owner' })).toContainText('Owner');
  await expect(members.getByRole('listitem', { name: 'Vera Viewer' })).toContainText('Vera Viewer (you)');
  await expect(page.getByRole('radio')).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Remove / })).toHaveCount(0);
  await expect(page.getByLabel('Add by email')).toHaveCount(0);
  await screenshot(page, 'mobile-viewer-members');
});

test('two editors change one config: the second sees the other value live and chooses', async ({ browser, newUser }) => {
  const owner = await newUser({ name: 'Olga Owner' });
  const editor = await newUser({ name: 'Eddie Editor' });
  const api = await clientFor(owner);
  const project = await api.createProject({ name: 'Race' });
  await api.addMember(project.id, editor.id, 'editor');
  await api.setConfig(project.id, 'limit', 1);

  const page = await personIn(browser, editor);
  await openProject(page, 'Race');
  const row = configItem(page, 'limit');
  await row.getByRole('button', { name: 'Edit limit' }).click();
  await page.getByLabel('New value of limit', { exact: true }).fill('2');
  // The owner saves first.
  await gql(api, SET_CONFIG, { p: project.id, k: 'limit', v: 5 });
  const conflict = row.getByRole('alert').filter({ hasText: 'Changed by someone else' });
  await expect(conflict).toContainText('Olga Owner saved version 2 while you were editing.');
  await expect(conflict.getByLabel('Their value')).toHaveText('5');
  await screenshot(page, 'mobile-conflict');
  await conflict.getByRole('button', { name: 'Apply mine' }).click();
  await expect(page.getByLabel('Value of limit', { exact: true })).toHaveText('2');
  const now = await gql<{ project: { config: { value: unknown; version: number } } }>(api, `query($p: ID!) { project(id: $p) { config(key: "limit") { value version } } }`, {
    p: project.id,
  });
  expect(now.project.config).toEqual({ value: 2, version: 3 });
});
