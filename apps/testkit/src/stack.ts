// Starts the real Platform SM stack for one browser-test suite: core-svc, rest-edge, graphql-edge
// and realtime-edge, the binaries cargo built, each on a port the kernel picks (port 0; the
// address is read from the service's own "listening" log line, so no port can be taken between
// choosing and binding), against a fresh database on the PostgreSQL and the Redis that
// scripts/test exports as DATABASE_URL / REDIS_URL. The first admin comes from
// PLATFORM_ADMIN_EMAIL / PLATFORM_ADMIN_PASSWORD, as in production. stop() ends it all and drops
// the database.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Everything a test needs to reach the running stack. Serialisable (it crosses into workers). */
export interface StackInfo {
  /** `http://127.0.0.1:PORT/api/v1` */
  restUrl: string;
  /** `http://127.0.0.1:PORT` (rest-edge's origin) */
  restOrigin: string;
  /** `http://127.0.0.1:PORT/admin/` when the stack serves the admin panel. */
  adminUrl?: string;
  /** `http://127.0.0.1:PORT/graphql` */
  graphqlUrl: string;
  /** `http://127.0.0.1:PORT/` when graphql-edge serves the web app. */
  webUrl?: string;
  /** `ws://127.0.0.1:PORT/ws` */
  realtimeUrl: string;
  /** `127.0.0.1:PORT` (plaintext gRPC) */
  coreGrpcAddr: string;
  admin: { email: string; password: string };
  /** The stack owner's control endpoint (serveControl), for workers that restart an edge. */
  controlUrl?: string;
  /** Where each service's log is written. */
  logDir: string;
}

/** A service of the stack that a test may stop and start again (same address, same settings). */
export type EdgeName = 'rest-edge' | 'graphql-edge' | 'realtime-edge';

export interface Stack extends StackInfo {
  stop(): Promise<void>;
  /**
   * Stops one edge — SIGKILL (a crash: no close frames, no drain) or SIGTERM (a deploy) — and,
   * unless `start: false`, starts it again on the same address and waits until it is ready.
   */
  restart(name: EdgeName, opts?: { signal?: 'SIGKILL' | 'SIGTERM'; start?: boolean }): Promise<void>;
  /** Starts an edge that `restart(name, { start: false })` left stopped. */
  startAgain(name: EdgeName): Promise<void>;
}

export interface StackOptions {
  /** Directory with the four binaries; default `$CARGO_TARGET_DIR/debug` or `<repo>/target/debug`. */
  binDir?: string;
  /**
   * A built admin panel (`apps/admin/dist`). It is deployed the way the README says: the files
   * copied to a folder (under logDir), a `config.json` written beside index.html with this stack's
   * addresses, and rest-edge serving the folder at `/admin/` (ADMIN_STATIC_DIR).
   */
  adminDist?: string;
  /** Extra variables for core-svc (e.g. `ACCESS_TOKEN_TTL_SECS`). */
  coreEnv?: Record<string, string>;
  /**
   * A built web app (`apps/web/dist`, or the mobile app's web export `apps/mobile/dist`), deployed
   * like the admin panel: copied to a folder with a `config.json` beside index.html, and
   * graphql-edge serving it at `/` (WEB_STATIC_DIR).
   */
  webDist?: string;
  /** Extra variables for graphql-edge (e.g. `CORS_ALLOWED_ORIGINS`). */
  graphqlEnv?: Record<string, string>;
  /** Where the service logs go; default a fresh folder under the OS temp dir. */
  logDir: string;
  /** Seconds to wait for each service to listen and be ready. */
  startTimeoutSecs?: number;
}

/** The repository root (this file is apps/testkit/src/stack.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function defaultBinDir(): string {
  const target = process.env.CARGO_TARGET_DIR || 'target';
  return join(isAbsolute(target) ? target : join(repoRoot, target), 'debug');
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: run the browser tests through ./scripts/test, or start PostgreSQL and ` +
        `Redis (scripts/lib.sh start_postgres / start_redis) and export DATABASE_URL and REDIS_URL`,
    );
  }
  return v;
}

function psql(url: string, sql: string): void {
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

interface Service {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** A line of a service's JSON log (LOG_FORMAT=json): the event's fields, flattened. */
type LogLine = Record<string, unknown> & { message?: string };

function startService(
  name: string,
  bin: string,
  env: Record<string, string>,
  logDir: string,
  listening: string,
  timeoutMs: number,
): Promise<{ service: Service; fields: Record<string, unknown> }> {
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build the services first (cargo build --bins)`);
  }
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(bin, [], {
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', RUST_LOG: 'info', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const service: Service = { name, child, exited };
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not log "${listening}" within ${timeoutMs} ms; see ${logFile}`));
    }, timeoutMs);
    let done = false;
    for (const stream of [child.stdout!, child.stderr!]) {
      const lines = createInterface({ input: stream });
      lines.on('line', (line) => {
        log.write(line + '\n');
        if (done) return;
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          return;
        }
        if (parsed.message === listening) {
          done = true;
          clearTimeout(timer);
          resolveStart({ service, fields: parsed });
        }
      });
    }
    void exited.then((code) => {
      if (done) return;
      clearTimeout(timer);
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
      reject(new Error(`${name} exited with ${code} during start-up; last lines of ${logFile}:\n${tail}`));
    });
  });
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `${r.status} ${await r.text()}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
}

async function stopService(s: Service): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000).unref());
  if ((await Promise.race([s.exited, timeout])) === 'timeout') {
    s.child.kill('SIGKILL');
    await s.exited;
  }
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const databaseUrl = required('DATABASE_URL');
  const redisUrl = required('REDIS_URL');
  const binDir = opts.binDir ?? defaultBinDir();
  const timeoutMs = (opts.startTimeoutSecs ?? 60) * 1000;
  mkdirSync(opts.logDir, { recursive: true });

  const db = `e2e_${randomBytes(6).toString('hex')}`;
  psql(databaseUrl, `CREATE DATABASE ${db}`);
  const admin = { email: 'admin@e2e.test', password: randomBytes(12).toString('hex') };
  const services: Service[] = [];
  const stop = async () => {
    // Edges first, then core-svc (its drain ends the edges' streams), then the database.
    for (const s of [...services].reverse()) await stopService(s);
    try {
      psql(databaseUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    } catch (e) {
      console.warn(`could not drop test database ${db}: ${e}`);
    }
  };
  try {
    const core = await startService(
      'core-svc',
      join(binDir, 'core-svc'),
      {
        DATABASE_URL: withDatabase(databaseUrl, db),
        REDIS_URL: redisUrl,
        JWT_SECRET: randomBytes(32).toString('hex'),
        CORE_LISTEN_ADDR: '127.0.0.1:0',
        CORE_METRICS_ADDR: '127.0.0.1:0',
        PLATFORM_ADMIN_EMAIL: admin.email,
        PLATFORM_ADMIN_PASSWORD: admin.password,
        // Loopback receivers in tests; the guard itself is tested in Rust.
        WEBHOOK_ALLOW_PRIVATE: 'true',
        ...opts.coreEnv,
      },
      opts.logDir,
      'core-svc listening',
      timeoutMs,
    );
    services.push(core.service);
    const coreGrpcAddr = String(core.fields.grpc);
    await waitReady(`http://${String(core.fields.http)}/readyz`, timeoutMs);
    const coreUrl = `http://${coreGrpcAddr}`;
    const specs = new Map<string, { env: Record<string, string>; addr: string }>();
    const edge = async (name: EdgeName, listenVar: string, extra: Record<string, string> = {}, addr = '127.0.0.1:0') => {
      const env = { CORE_GRPC_URL: coreUrl, ...extra, [listenVar]: addr };
      const s = await startService(name, join(binDir, name), env, opts.logDir, `${name} listening`, timeoutMs);
      services.push(s.service);
      const bound = String(s.fields.addr);
      // A restart binds the same address, so clients configured with it find the new process.
      specs.set(name, { env: { ...env, [listenVar]: bound }, addr: bound });
      return bound;
    };
    const startAgain = async (name: EdgeName) => {
      const spec = specs.get(name);
      if (!spec) throw new Error(`${name} is not part of this stack`);
      const s = await startService(name, join(binDir, name), spec.env, opts.logDir, `${name} listening`, timeoutMs);
      services.push(s.service);
      await waitReady(`http://${spec.addr}/readyz`, timeoutMs);
    };
    const restart: Stack['restart'] = async (name, o = {}) => {
      const running = services.filter((s) => s.name === name && s.child.exitCode === null && s.child.signalCode === null);
      for (const s of running) {
        if (o.signal === 'SIGKILL') {
          s.child.kill('SIGKILL');
          await s.exited;
        } else {
          await stopService(s);
        }
        services.splice(services.indexOf(s), 1);
      }
      if (o.start !== false) await startAgain(name);
    };
    let panelDir: string | undefined;
    if (opts.adminDist) {
      if (!existsSync(join(opts.adminDist, 'index.html'))) {
        throw new Error(`${opts.adminDist}/index.html is missing: build the panel first (npm run build in apps/)`);
      }
      panelDir = join(opts.logDir, 'admin');
      rmSync(panelDir, { recursive: true, force: true });
      cpSync(opts.adminDist, panelDir, { recursive: true });
      rmSync(join(panelDir, 'config.json'), { force: true });
    }
    const rest = await edge('rest-edge', 'REST_LISTEN_ADDR', panelDir ? { ADMIN_STATIC_DIR: panelDir } : {});
    let webDir: string | undefined;
    if (opts.webDist) {
      if (!existsSync(join(opts.webDist, 'index.html'))) {
        throw new Error(`${opts.webDist}/index.html is missing: build the web app first (npm run build in apps/)`);
      }
      webDir = join(opts.logDir, 'web');
      rmSync(webDir, { recursive: true, force: true });
      cpSync(opts.webDist, webDir, { recursive: true });
      rmSync(join(webDir, 'config.json'), { force: true });
    }
    const graphql = await edge('graphql-edge', 'GRAPHQL_LISTEN_ADDR', {
      ...(webDir ? { WEB_STATIC_DIR: webDir } : {}),
      ...opts.graphqlEnv,
    });
    const realtime = await edge('realtime-edge', 'REALTIME_LISTEN_ADDR');
    await Promise.all([rest, graphql, realtime].map((a) => waitReady(`http://${a}/readyz`, timeoutMs)));
    if (panelDir) {
      // rest-edge reads files per request, so the config can follow the ports it learnt.
      const config = { apiUrl: `http://${rest}/api/v1`, realtimeUrl: `ws://${realtime}/ws` };
      writeFileSync(join(panelDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    }
    if (webDir) {
      // Same origin for GraphQL; the realtime edge on its own port, as ./scripts/run deploys it.
      const config = { graphqlUrl: '/graphql', realtimeUrl: `ws://${realtime}/ws` };
      writeFileSync(join(webDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    }
    return {
      adminUrl: panelDir ? `http://${rest}/admin/` : undefined,
      restOrigin: `http://${rest}`,
      restUrl: `http://${rest}/api/v1`,
      graphqlUrl: `http://${graphql}/graphql`,
      webUrl: webDir ? `http://${graphql}/` : undefined,
      realtimeUrl: `ws://${realtime}/ws`,
      coreGrpcAddr,
      admin,
      logDir: opts.logDir,
      stop,
      restart,
      startAgain,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
