// The main flow on a phone-sized screen, and with the keyboard alone.
import { clientFor, expect, gql, personIn, screenshot, SET_CONFIG, test } from './fixtures.ts';

const PHONE = { width: 390, height: 844 };

test('on a phone: sign in, open a project, edit a config, see a change from someone else, read the activity', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Phoebe Phone' });
  const colleague = await newUser({ name: 'Carl Colleague' });
  const api = await clientFor(user);
  const project = await api.createProject({ name: 'Mobile release' });
  await api.addMember(project.id, colleague.id, 'editor');
  await api.setConfig(project.id, 'release.channel', 'beta');
  const page = await personIn(browser, user, PHONE);

  await page.getByRole('button', { name: 'Mobile release' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Mobile release' })).toBeVisible();
  // Nothing wider than the screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  await page.getByRole('button', { name: 'Edit release.channel' }).click();
  await page.getByLabel('New value of release.channel').fill('"stable"');
  await page.getByRole('button', { name: 'Save release.channel' }).click();
  await expect(page.getByLabel('Value of release.channel')).toHaveText('"stable"');

  const other = await clientFor(colleague);
  await gql(other, SET_CONFIG, { p: project.id, k: 'release.percent', v: 25 });
  await expect(page.getByLabel('Value of release.percent')).toHaveText('25');
  await expect(page.getByRole('status').filter({ hasText: 'Carl Colleague set release.percent to 25' })).toBeVisible();
  await screenshot(page, 'web-phone-project');

  await page.getByRole('tab', { name: 'Activity' }).click();
  const feed = page.getByRole('list', { name: 'Activity' });
  await expect(feed.getByRole('listitem').first()).toContainText('Carl Colleague set release.percent to 25');
  await expect(feed).toContainText('You set release.channel to "stable"');
  await gql(other, SET_CONFIG, { p: project.id, k: 'release.percent', v: 50 });
  await expect(feed.getByRole('listitem').first()).toContainText('Carl Colleague set release.percent to 50');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  await screenshot(page, 'web-phone-activity');
});

test('with the keyboard alone: open a project and edit a config', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Kim Keys' });
  const api = await clientFor(user);
  await api.createProject({ name: 'Keyboard only' }).then((p) => api.setConfig(p.id, 'retries', 3));
  const page = await personIn(browser, user);
  const project = page.getByRole('button', { name: 'Keyboard only' });
  await project.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Keyboard only' })).toBeVisible();
  await page.getByRole('button', { name: 'Edit retries' }).focus();
  await page.keyboard.press('Enter');
  const editor = page.getByLabel('New value of retries');
  await expect(editor).toBeFocused();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('5');
  await page.keyboard.press('Control+Enter');
  await expect(page.getByLabel('Value of retries')).toHaveText('5');
  // Focus returns to the row's Edit button; Escape leaves an editor without saving.
  await expect(page.getByRole('button', { name: 'Edit retries' })).toBeFocused();
  await page.keyboard.press('Enter');
  await page.keyboard.type('9');
  await page.keyboard.press('Escape');
  await expect(page.getByLabel('Value of retries')).toHaveText('5');
});
