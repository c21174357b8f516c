// Test workers (Playwright runs them in other processes than its global set-up, which owns the
// services) ask the owner to restart an edge through this small HTTP endpoint on loopback.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EdgeName, Stack } from './stack.ts';

const EDGES = new Set<string>(['rest-edge', 'graphql-edge', 'realtime-edge']);

/** Serves `POST /restart/<edge>?signal=SIGKILL|SIGTERM&start=0|1` and `POST /start/<edge>`; returns its URL and a stop function. */
export async function serveControl(stack: Stack): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const [, action, name] = url.pathname.split('/');
    if (req.method !== 'POST' || !name || !EDGES.has(name) || (action !== 'restart' && action !== 'start')) {
      res.writeHead(404).end();
      return;
    }
    const signal = url.searchParams.get('signal') === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM';
    const run =
      action === 'start'
        ? stack.startAgain(name as EdgeName)
        : stack.restart(name as EdgeName, { signal, start: url.searchParams.get('start') !== '0' });
    run.then(
      () => res.writeHead(204).end(),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** From a test worker: restart (or stop, with `start: false`) an edge of the suite's stack. */
export async function restartEdge(
  controlUrl: string,
  name: EdgeName,
  opts: { signal?: 'SIGKILL' | 'SIGTERM'; start?: boolean } = {},
): Promise<void> {
  const q = new URLSearchParams({ signal: opts.signal ?? 'SIGTERM', start: opts.start === false ? '0' : '1' });
  const r = await fetch(`${controlUrl}/restart/${name}?${q}`, { method: 'POST' });
  if (!r.ok) throw new Error(`restart ${name}: HTTP ${r.status} ${await r.text()}`);
}

/** From a test worker: start an edge stopped with `restartEdge(…, { start: false })`. */
export async function startEdge(controlUrl: string, name: EdgeName): Promise<void> {
  const r = await fetch(`${controlUrl}/start/${name}`, { method: 'POST' });
  if (!r.ok) throw new Error(`start ${name}: HTTP ${r.status} ${await r.text()}`);
}
