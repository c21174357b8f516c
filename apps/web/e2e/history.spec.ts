// A config's history: the diff of an old version against the current value, and rolling back to
// it; the effective config as .env, downloaded.
import { readFileSync } from 'node:fs';
import { clientFor, expect, openProject, personIn, screenshot, test } from './fixtures.ts';

test('rolls a config back from its history, after looking at the diff', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Rita Editor' });
  const owner = await clientFor(user);
  const project = await owner.createProject({ name: 'Feature flags' });
  let c = await owner.setConfig(project.id, 'search.engine', { name: 'v1', shards: 2 });
  c = await owner.updateConfig(c, { name: 'v2', shards: 4 });
  await owner.updateConfig(c, { name: 'v3', shards: 4 });

  const page = await personIn(browser, user);
  await openProject(page, 'Feature flags');
  await page.getByRole('link', { name: 'History of search.engine' }).click();
  await expect(page.getByRole('heading', { name: 'History of search.engine' })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Revisions' }).getByRole('button')).toHaveCount(3);
  await page.getByRole('button', { name: /^Version 1/ }).click();
  const diff = page.getByLabel('Differences between version 1 and the current value');
  await expect(diff).toContainText('-   "name": "v1",');
  await expect(diff).toContainText('+   "name": "v3",');
  await expect(diff).toContainText('-   "shards": 2');
  await screenshot(page, 'web-history');
  await page.getByRole('button', { name: 'Roll back to version 1' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Rolled back to version 1: now version 4.' })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Revisions' }).getByRole('button')).toHaveCount(4);
  await expect(page.getByRole('button', { name: 'Version 4 (current)' })).toContainText('rolled back by You');

  await page.getByRole('link', { name: 'Feature flags' }).click();
  await expect(page.getByLabel('Value of search.engine')).toContainText('"name": "v1"');
});

test('downloads the effective config as .env', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Dora Dev' });
  const owner = await clientFor(user);
  const project = await owner.createProject({ name: 'Env export', slug: `env-export-${Date.now()}` });
  await owner.setConfig(project.id, 'checkout.enabled', true);
  await owner.setConfig(project.id, 'api.url', 'https://api.example.com/v1');
  await owner.setConfig(project.id, 'limits', { max: 3 });
  await owner.setConfig(project.id, 'greeting', 'hello "world"');

  const page = await personIn(browser, user);
  await openProject(page, 'Env export');
  await page.getByRole('tab', { name: '.env' }).click();
  const expected = ['API_URL=https://api.example.com/v1', 'CHECKOUT_ENABLED=true', 'GREETING="hello \\"world\\""', 'LIMITS="{\\"max\\":3}"', ''].join('\n');
  await expect(page.getByLabel('Effective config as .env')).toHaveText(expected.trimEnd());
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download .env' }).click()]);
  expect(download.suggestedFilename()).toBe(`${project.slug}.env`);
  expect(readFileSync(await download.path(), 'utf8')).toBe(expected);
});
