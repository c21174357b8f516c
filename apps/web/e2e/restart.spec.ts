// Runs alone, after the other scenarios (project "restart"): realtime-edge goes away while a page
// is open and comes back; the page shows that it is reconnecting, then catches up on what happened
// meanwhile. And the time from a write's acknowledgement to the change on screen, measured on a
// quiet machine: reported, not asserted.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restartEdge, startEdge } from '@platform-sm/testkit';
import { clientFor, expect, gql, openProject, personIn, SET_CONFIG, stack, test } from './fixtures.ts';

test('realtime-edge restarts while a page is open: the page catches up on what happened meanwhile', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Rory Restart' });
  const colleague = await newUser({ name: 'Cleo Colleague' });
  const api = await clientFor(user);
  const project = await api.createProject({ name: 'Restart drill' });
  await api.addMember(project.id, colleague.id, 'editor');
  await api.setConfig(project.id, 'mode', 'normal');
  const page = await personIn(browser, user);
  await openProject(page, 'Restart drill');
  await expect(page.getByLabel('Live updates on')).toBeVisible();

  const control = stack.controlUrl!;
  await restartEdge(control, 'realtime-edge', { signal: 'SIGKILL', start: false });
  await expect(page.getByLabel('Live updates reconnecting')).toBeVisible();
  const other = await clientFor(colleague);
  await gql(other, SET_CONFIG, { p: project.id, k: 'mode', v: 'maintenance' });
  await gql(other, SET_CONFIG, { p: project.id, k: 'banner', v: 'Back soon' });
  await startEdge(control, 'realtime-edge');

  await expect(page.getByLabel('Live updates on')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByLabel('Value of mode')).toHaveText('"maintenance"');
  await expect(page.getByLabel('Value of banner')).toHaveText('"Back soon"');
  await page.getByRole('tab', { name: 'Activity' }).click();
  const feed = page.getByRole('list', { name: 'Activity' });
  await expect(feed.getByRole('listitem').nth(0)).toContainText('Cleo Colleague set banner to "Back soon"');
  await expect(feed.getByRole('listitem').nth(1)).toContainText('Cleo Colleague set mode to "maintenance"');
  await expect(feed.getByRole('listitem').filter({ hasText: 'set banner' })).toHaveCount(1);
});

test('write acknowledged → change on screen (measured, reported)', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Lena Latency' });
  const writer = await newUser({ name: 'Walt Writer' });
  const api = await clientFor(user);
  const project = await api.createProject({ name: 'Latency' });
  await api.addMember(project.id, writer.id, 'editor');
  await api.setConfig(project.id, 'counter', 0);
  const page = await personIn(browser, user);
  const frameAt = new Map<number, number>();
  // The page's WebSocket, opened after this listener (hence the reload): when each event arrives.
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      const frame = JSON.parse(String(f.payload)) as { type?: string; event?: { payload?: { key?: string; value?: unknown } } };
      const p = frame.type === 'event' ? frame.event?.payload : undefined;
      if (p?.key === 'counter' && typeof p.value === 'number') frameAt.set(p.value, Date.now());
    }),
  );
  await page.reload();
  await openProject(page, 'Latency');
  await expect(page.getByLabel('Live updates on')).toBeVisible();
  const w = await clientFor(writer);
  const samples: number[] = [];
  const frames: number[] = [];

  for (let i = 1; i <= 20; i++) {
    // The page records when the value appears (Date.now() in the page and here share the clock).
    const shown = page.evaluate((want) => {
      return new Promise<number>((resolve) => {
        const el = () => document.querySelector('[aria-label="Value of counter"]');
        const check = () => {
          if (el()?.textContent === want) {
            observer.disconnect();
            resolve(Date.now());
          }
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        check();
      });
    }, String(i));
    await gql(w, SET_CONFIG, { p: project.id, k: 'counter', v: i });
    const acked = Date.now();
    samples.push((await shown) - acked);
    const f = frameAt.get(i);
    if (f !== undefined) frames.push(f - acked);
  }
  samples.sort((a, b) => a - b);
  frames.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!;
  const framePct = (p: number) => frames[Math.min(frames.length - 1, Math.floor((p / 100) * frames.length))];
  const report = {
    samples: samples.length,
    p50_ms: pct(50),
    p90_ms: pct(90),
    max_ms: samples.at(-1),
    all_ms: samples,
    // The same writes' event frames as the page's WebSocket received them (seen from the test).
    frame_p50_ms: framePct(50),
    frame_p90_ms: framePct(90),
  };
  console.log(
    `write ack → on screen: p50 ${report.p50_ms} ms, p90 ${report.p90_ms} ms, max ${report.max_ms} ms (n=${samples.length}); ` +
      `ack → event frame at the page: p50 ${report.frame_p50_ms} ms, p90 ${report.frame_p90_ms} ms`,
  );
  const out = join(dirname(fileURLToPath(import.meta.url)), '../test-results/latency.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
});
