import type { WebSocketRoute } from '@playwright/test';
import { uniq } from '@platform-sm/testkit';
import { adminUrl, expect, signIn, stack, test } from './fixtures';

test('after a lost connection the panel resumes with `after` and shows what changed meanwhile', async ({ page, admin }) => {
  const project = await admin.createProject({ name: 'Resumes' });
  // The WebSocket goes to the real realtime-edge through Playwright, which can cut it and, while
  // `down`, refuse new connections as an unreachable edge would.
  let down = false;
  let current: WebSocketRoute | undefined;
  type Frame = { type?: string; channel?: string; after?: number };
  const sent: Frame[] = [];
  const received: Frame[] = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (down) {
      void ws.close({ code: 1013, reason: 'edge unreachable (test)' });
      return;
    }
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      sent.push(JSON.parse(String(m)));
      server.send(m);
    });
    server.onMessage((m) => {
      received.push(JSON.parse(String(m)));
      ws.send(m);
    });
    current = ws;
  });

  await signIn(page, stack.admin.email, stack.admin.password);
  await page.goto(`${adminUrl}#/projects/${project.id}/show/configs`);
  const channel = `project:${project.id}`;
  // Subscribed: from here on the panel knows the channel's position.
  await expect.poll(() => received.some((f) => f.type === 'subscribed' && f.channel === channel)).toBe(true);
  await expect(page.getByText('Live', { exact: true })).toBeVisible();

  down = true;
  await current!.close({ code: 1001, reason: 'going away (test)' });
  await expect(page.getByText('Live', { exact: true })).toBeHidden();
  const key = `while.offline.${uniq()}`;
  await admin.setConfig(project.id, key, 'missed live, replayed');
  const before = sent.length;
  down = false;

  // Reconnected: the channel is subscribed again from the last seq seen, and the replay brings
  // the change made while the connection was down.
  await expect(page.getByRole('row').filter({ hasText: key })).toBeVisible({ timeout: 20_000 });
  const resumed = sent.slice(before).find((f) => f.type === 'subscribe' && f.channel === channel);
  expect(resumed?.after).toEqual(expect.any(Number));
  await expect(page.getByText('Live', { exact: true })).toBeVisible();
});
