// The app's life on a phone, in the browser: going to the background (the page hidden) closes the
// live connection and coming back resumes it from `after` with what happened meanwhile; offline,
// the last data stays readable and a save is refused until the connection is back.
import type { WebSocket } from '@playwright/test';
import { appUrl, clientFor, configItem, expect, gql, openProject, screenshot, SET_CONFIG, signIn, test } from './fixtures.ts';

async function setVisibility(page: import('@playwright/test').Page, state: 'hidden' | 'visible') {
  await page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

test('background closes the live connection; foreground resumes it with after and catches up', async ({ browser, newUser }) => {
  const owner = await newUser({ name: 'Olga Owner' });
  const viewer = await newUser({ name: 'Vera Viewer' });
  const api = await clientFor(owner);
  const project = await api.createProject({ name: 'Pocket' });
  await api.addMember(project.id, viewer.id, 'viewer');
  await api.setConfig(project.id, 'limit', 1);

  const page = await (await browser.newContext()).newPage();
  const sockets: Array<{ ws: WebSocket; sent: Array<Record<string, unknown>>; received: Array<Record<string, unknown>> }> = [];
  page.on('websocket', (ws) => {
    const entry = { ws, sent: [] as Array<Record<string, unknown>>, received: [] as Array<Record<string, unknown>> };
    ws.on('framesent', (f) => entry.sent.push(JSON.parse(String(f.payload)) as Record<string, unknown>));
    ws.on('framereceived', (f) => entry.received.push(JSON.parse(String(f.payload)) as Record<string, unknown>));
    sockets.push(entry);
  });
  await signIn(page, viewer);
  await openProject(page, 'Pocket');
  const channel = `project:${project.id}`;
  await expect.poll(() => sockets[0]?.received.some((f) => f.type === 'subscribed' && f.channel === channel)).toBe(true);

  await gql(api, SET_CONFIG, { p: project.id, k: 'limit', v: 2 });
  await expect(page.getByLabel('Value of limit', { exact: true })).toHaveText('2');
  const lastSeq = Math.max(...sockets[0]!.received.filter((f) => f.type === 'event' && f.channel === channel).map((f) => Number(f.seq)));

  await setVisibility(page, 'hidden');
  await expect.poll(() => sockets[0]!.ws.isClosed()).toBe(true);
  // Meanwhile: two changes nobody on this phone hears about.
  await gql(api, SET_CONFIG, { p: project.id, k: 'limit', v: 3 });
  await gql(api, SET_CONFIG, { p: project.id, k: 'banner', v: 'hello' });
  await expect(page.getByLabel('Value of limit', { exact: true })).toHaveText('2');
  expect(sockets).toHaveLength(1);

  await setVisibility(page, 'visible');
  await expect(page.getByLabel('Value of limit', { exact: true })).toHaveText('3');
  await expect(page.getByLabel('Value of banner', { exact: true })).toHaveText('"hello"');
  expect(sockets).toHaveLength(2);
  const resumed = sockets[1]!.sent.find((f) => f.type === 'subscribe' && f.channel === channel);
  expect(resumed?.after).toBe(lastSeq);
  // The replay brought each change once.
  const replayed = sockets[1]!.received.filter((f) => f.type === 'event' && f.channel === channel).map((f) => Number(f.seq));
  expect(replayed).toHaveLength(2);
  expect(new Set(replayed).size).toBe(2);
  expect(Math.min(...replayed)).toBeGreaterThan(lastSeq);
});

test('offline: the last data stays readable, a save is refused, and works again once online', async ({ browser, newUser }) => {
  const editor = await newUser({ name: 'Eddie Editor' });
  const api = await clientFor(editor);
  const project = await api.createProject({ name: 'Subway' });
  await api.setConfig(project.id, 'limit', 1);
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, editor);
  await openProject(page, 'Subway');
  const row = configItem(page, 'limit');
  await row.getByRole('button', { name: 'Edit limit' }).click();
  await page.getByLabel('New value of limit', { exact: true }).fill('8');

  await context.setOffline(true);
  await expect(page.getByRole('status').filter({ hasText: 'Offline — showing what was last loaded.' })).toBeVisible();
  await expect(row.getByText('Offline: you can keep editing, but nothing is saved until you are back online.')).toBeVisible();
  await expect(row.getByRole('button', { name: 'Save limit' })).toBeDisabled();
  await screenshot(page, 'mobile-offline');
  // Nothing went to the server.
  const before = await gql<{ project: { config: { value: unknown } } }>(api, `query($p: ID!) { project(id: $p) { config(key: "limit") { value } } }`, { p: project.id });
  expect(before.project.config.value).toBe(1);

  await context.setOffline(false);
  await expect(page.getByRole('status').filter({ hasText: 'Offline — showing what was last loaded.' })).toHaveCount(0);
  await row.getByRole('button', { name: 'Save limit' }).click();
  await expect(page.getByLabel('Value of limit', { exact: true })).toHaveText('8');
  const after = await gql<{ project: { config: { value: unknown } } }>(api, `query($p: ID!) { project(id: $p) { config(key: "limit") { value } } }`, { p: project.id });
  expect(after.project.config.value).toBe(8);
});

test('a wrong password, and a server that cannot be reached, are said plainly', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Sam Signin' });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appUrl);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong email or password.' })).toBeVisible();
  await page.route('**/graphql', (route) => route.abort('connectionrefused'));
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Cannot reach the server. Check your connection and try again.' })).toBeVisible();
  await page.unroute('**/graphql');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'My projects' })).toBeVisible();
});
