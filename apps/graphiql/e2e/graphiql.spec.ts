// GraphiQL as a developer uses it, served by graphql-edge itself: nothing may come from another
// host (the page used to load GraphiQL from a CDN and stayed blank offline). Introspection fills
// the docs, a query runs with the Headers tab's token, and a subscription shows another client's
// writes live over the /graphql WebSocket.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { RestClient } from '@platform-sm/testkit';
import { stackInfo } from '@platform-sm/testkit/playwright';

const stack = stackInfo();
const stackOrigin = new URL(stack.graphqlUrl).origin;

/** Replaces the text of one of GraphiQL's editors (Monaco) with `text`. */
async function setEditor(page: Page, region: string, text: string): Promise<void> {
  const editor = page.getByRole('region', { name: region }).getByRole('textbox');
  await editor.focus();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText types no keys, so the editor's auto-closing of brackets does not double them.
  await page.keyboard.insertText(text);
}

/** Runs the operation named `name` once GraphiQL has taken it in (its tab is named after it). */
async function run(page: Page, name: string): Promise<void> {
  await expect(page.getByRole('tab', { name, exact: true })).toBeVisible();
  await page.getByRole('button', { name: /^Execute/ }).first().click();
}

/** Waits until the result pane shows `text` (the editor wraps long lines, so spaces are ignored). */
async function expectResult(page: Page, text: string): Promise<void> {
  const pane = page.getByRole('region', { name: 'Result Window' });
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  await expect.poll(async () => squeeze((await pane.textContent()) ?? '')).toContain(squeeze(text));
}

const screenshotDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');

test('GraphiQL works offline: docs, a query with a token, and a live subscription', async ({ page }) => {
  const admin = await RestClient.login(stack.restUrl, stack.admin.email, stack.admin.password);
  const user = await admin.createUser({ name: 'GraphiQL User' });
  const client = await RestClient.login(stack.restUrl, user.email, user.password);
  const project = await client.createProject({ name: 'GraphiQL live' });

  // Everything the page asks for must come from the edge that served it.
  const foreign: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || new URL(url).origin === stackOrigin) return route.continue();
    foreign.push(url);
    return route.abort();
  });

  await page.goto(stack.graphqlUrl);
  await expect(page.getByRole('button', { name: /^Execute/ }).first()).toBeVisible();

  // Introspection worked (it is deeper than data queries may be): the docs list the schema's types.
  await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
  await expect(page.getByRole('link', { name: 'Query' }).first()).toBeVisible();
  await expect(page.getByRole('link', { name: 'Subscription' }).first()).toBeVisible();

  await page.getByRole('button', { name: 'Headers' }).click();
  await setEditor(page, 'Headers', JSON.stringify({ Authorization: `Bearer ${client.session.access_token}` }));
  await setEditor(page, 'Operation Editor', 'query Me { me { email name } }');
  await run(page, 'Me');
  await expectResult(page, user.email);

  // A subscription: the token goes in connection_init; another client's writes arrive live.
  // GraphiQL offers Stop as soon as it sends `subscribe`, before the server has the subscription
  // (the protocol has no acknowledgement), so a write right then could come before it. `after`
  // makes that harmless, as it does for any client: the log after seq 0 (this new project has
  // no config changes before ours) is replayed first, then live.
  await setEditor(
    page,
    'Operation Editor',
    `subscription Live { configChanged(projectId: "${project.id}", after: "0") { seq type config { key value version } } }`,
  );
  await run(page, 'Live');
  await expect(page.getByRole('button', { name: /^Stop/ }).first()).toBeVisible();
  await client.setConfig(project.id, 'graphiql.live', { shown: 'live' });
  await expectResult(page, 'graphiql.live');
  await expectResult(page, 'config.set');
  await client.setConfig(project.id, 'graphiql.second', 2);
  await expectResult(page, 'graphiql.second');

  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'graphiql.png'), animations: 'disabled' });
  }
  expect(foreign, 'requests to other hosts').toEqual([]);
});
