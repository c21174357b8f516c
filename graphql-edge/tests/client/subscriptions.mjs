// Drives graphql-edge's subscriptions with the standard graphql-ws client (on Node's `ws`), as
// Apollo Client, urql or Relay apps do: live events in order, resume with `after` across a
// dropped socket under concurrent writers (nothing missed, nothing repeated), a removed member's
// subscription ending with NOT_FOUND, a refused token, an unknown field, the limits.
// Usage: node subscriptions.mjs <graphql url> <admin email> <admin password> <member email> <member password>
// Exits non-zero on any mismatch; prints figures on success.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { GraphQLClient, gql } from 'graphql-request';

const [url, adminEmail, adminPassword, memberEmail, memberPassword] = process.argv.slice(2);
const wsUrl = url.replace(/^http/, 'ws');
const fail = (msg) => {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
};
const assert = (cond, msg) => cond || fail(msg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WAIT_MS = 15000;

async function login(email, password) {
  const { login } = await new GraphQLClient(url).request(
    gql`mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`,
    { email, password },
  );
  return login.accessToken;
}

const http = (token) => new GraphQLClient(url, { headers: { authorization: `Bearer ${token}` } });

/** A graphql-ws client that never retries: every close reaches the test. */
function socket(token, extra = {}) {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    ...extra,
  });
}

/**
 * Subscribes and collects: `items` fills with each `next` payload, `ended` resolves with
 * {complete} or {error}.
 */
function collect(client, query, variables) {
  const items = [];
  let unsubscribe;
  const ended = new Promise((resolve) => {
    unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (v) => items.push(v),
        error: (error) => resolve({ error }),
        complete: () => resolve({ complete: true }),
      },
    );
  });
  return { items, ended, unsubscribe };
}

async function until(what, cond, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const EVENTS = `subscription Events($c: [String!]!, $after: ID) { events(channels: $c, after: $after) { seq type resourceId } }`;
const CONFIG_CHANGED = `subscription Cfg($p: ID!, $key: String, $after: ID) {
  configChanged(projectId: $p, key: $key, after: $after) { seq type config { key version value deletedAt } }
}`;

const adminToken = await login(adminEmail, adminPassword);
const memberToken = await login(memberEmail, memberPassword);
const admin = http(adminToken);
const { createProject: project } = await admin.request(
  gql`mutation Create($input: CreateProjectInput!) { createProject(input: $input) { id } }`,
  { input: { slug: `subs-${Date.now()}`, name: 'Subscriptions' } },
);
const { addMember: member } = await admin.request(
  gql`mutation Add($p: ID!, $email: String!) { addMember(projectId: $p, email: $email, role: VIEWER) { id } }`,
  { p: project.id, email: memberEmail },
);
const setConfig = (key, value) =>
  admin.request(gql`mutation Set($p: ID!, $k: String!, $v: JSON) { setConfig(projectId: $p, key: $k, value: $v) { version } }`, {
    p: project.id,
    k: key,
    v: value,
  });
const channel = `project:${project.id}`;

/** The seqs of the project's channel after `after`, as the log (the GraphQL query) has them. */
async function logSeqs(after) {
  const seqs = [];
  let cursor = String(after);
  for (;;) {
    const { events } = await admin.request(
      gql`query Log($c: String!, $after: String) { events(channel: $c, after: $after, first: 100) { nodes { seq } pageInfo { hasNextPage endCursor } } }`,
      { c: channel, after: cursor },
    );
    seqs.push(...events.nodes.map((n) => n.seq));
    if (!events.pageInfo.hasNextPage) return seqs;
    cursor = events.pageInfo.endCursor;
  }
}

// 1. Live: the member's configChanged sees each write, in order, with the entry itself. The
//    subscription is live once core-svc authorized it: a first write is retried until it shows.
{
  const client = socket(memberToken);
  const sub = collect(client, CONFIG_CHANGED, { p: project.id, key: null });
  for (let i = 0; sub.items.length === 0; i++) {
    assert(i < 100, 'the subscription never went live');
    await setConfig('warmup', i);
    await sleep(50);
  }
  const start = sub.items.length;
  const latencies = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await setConfig(`live-${i % 3}`, { n: i });
    await until(`change ${i}`, () => sub.items.length > start + i);
    latencies.push(performance.now() - t0);
  }
  const got = sub.items.slice(start).map((v) => {
    assert(!v.errors, `no errors: ${JSON.stringify(v)}`);
    return v.data.configChanged;
  });
  got.forEach((c, i) => {
    assert(c.type === 'config.set', `type ${c.type}`);
    assert(c.config.key === `live-${i % 3}` && c.config.value.n === i, `change ${i} in order: ${JSON.stringify(c)}`);
    assert(c.config.version === Math.floor(i / 3) + 1, `version of change ${i}: ${c.config.version}`);
    if (i > 0) assert(c.seq > got[i - 1].seq, 'seqs increase');
  });
  // Only one key.
  const one = collect(client, CONFIG_CHANGED, { p: project.id, key: 'live-1', after: String(got[0].seq - 1) });
  await until('the key-filtered replay', () => one.items.length >= 7);
  assert(one.items.every((v) => v.data.configChanged.config.key === 'live-1'), 'key filter');
  sub.unsubscribe();
  one.unsubscribe();
  latencies.sort((a, b) => a - b);
  console.log(`live: 20 changes in order, write→receipt p50 ${latencies[10].toFixed(1)} ms`);
  await client.dispose();
}

// 2. Resume: events of the channel while 4 writers write 40 changes each; the socket drops
//    halfway; a new one resumes with `after` = the last seq seen. Together: exactly the log.
{
  const from = (await logSeqs(0)).at(-1);
  let client = socket(memberToken);
  let sub = collect(client, EVENTS, { c: [channel], after: String(from) });
  const writers = [0, 1, 2, 3].map(async (w) => {
    for (let i = 0; i < 40; i++) await setConfig(`w${w}`, i);
  });
  await until('some events before the drop', () => sub.items.length >= 30);
  // The socket goes away (as a phone loses its network): no complete, no goodbye.
  await client.dispose();
  const first = sub.items.map((v) => v.data.events.seq);
  const lastSeen = first.at(-1);
  client = socket(memberToken);
  sub = collect(client, EVENTS, { c: [channel], after: String(lastSeen) });
  await Promise.all(writers);
  const log = await logSeqs(from);
  await until('the rest after the resume', () => sub.items.at(-1)?.data.events.seq >= log.at(-1));
  const second = sub.items.map((v) => v.data.events.seq);
  const all = [...first, ...second];
  assert(JSON.stringify(all) === JSON.stringify(log), `resumed stream = log: got ${all.length} of ${log.length}`);
  assert(new Set(all).size === all.length, 'nothing repeated');
  console.log(`resume: ${first.length} + ${second.length} events = the log's ${log.length}, none missed or repeated`);
  sub.unsubscribe();
  await client.dispose();
}

// 3. Removal: the member's subscription ends with an error NOT_FOUND; nothing written after it.
{
  const client = socket(memberToken);
  const sub = collect(client, CONFIG_CHANGED, { p: project.id, key: null });
  for (let i = 0; sub.items.length === 0; i++) {
    assert(i < 100, 'the subscription never went live');
    await setConfig('before-removal', i);
    await sleep(50);
  }
  await admin.request(gql`mutation Remove($id: ID!) { removeMember(id: $id) { id } }`, { id: member.id });
  await setConfig('after-removal', 1);
  const end = await Promise.race([sub.ended, sleep(WAIT_MS).then(() => fail('the removed member is still subscribed'))]);
  assert(end.complete, `completes after the error: ${JSON.stringify(end)}`);
  const last = sub.items.at(-1);
  assert(last.errors?.[0]?.extensions?.code === 'NOT_FOUND', `ends with NOT_FOUND: ${JSON.stringify(last)}`);
  assert(
    !sub.items.some((v) => v.data?.configChanged?.config.key === 'after-removal'),
    'nothing written after the removal reaches the removed member',
  );
  console.log('removal: the subscription ends with NOT_FOUND');
  await client.dispose();
}

// 4. A refused token: the socket closes with 4403 before anything runs.
{
  const client = socket('not-a-token');
  const end = await collect(client, EVENTS, { c: ['system'] }).ended;
  assert(end.error?.code === 4403, `closed with 4403: ${end.error?.code} ${end.error?.reason}`);
  await client.dispose();
}

// 5. An unknown field: one error (the validation's), the socket stays.
{
  const client = socket(adminToken);
  const end = await collect(client, 'subscription { nope }', {}).ended;
  assert(Array.isArray(end.error) && /nope/.test(end.error[0].message), `a validation error: ${JSON.stringify(end)}`);
  // Same socket: a query still works.
  const q = collect(client, '{ me { email } }', {});
  assert((await q.ended).complete && q.items[0].data.me.email === adminEmail, 'a query over the socket');

  // 6. Limits: channels per subscription, a selection too complex, operations per socket.
  const many = Array.from({ length: 21 }, (_, i) => `user:${i}`);
  const tooMany = collect(client, EVENTS, { c: many });
  await tooMany.ended;
  assert(tooMany.items[0]?.errors?.[0]?.extensions?.code === 'BAD_USER_INPUT', `21 channels: ${JSON.stringify(tooMany.items)}`);
  // 15 lists of 100 members with their users: about 15 × 100 × 8, over the limit of 10 000.
  const lists = Array.from({ length: 15 }, (_, i) => `m${i}: members(first: 100) { nodes { id role user { id email name role status } } }`);
  const deep = `subscription($p: ID!) { projectChanged(id: $p) { project { ${lists.join(' ')} } } }`;
  const complex = await collect(client, deep, { p: project.id }).ended;
  assert(Array.isArray(complex.error) && /complex|deep/i.test(complex.error[0].message), `complexity: ${JSON.stringify(complex)}`);
  await client.dispose();
  // A fresh socket (the burst allowance of messages is 100): 100 operations, then one more.
  const full = socket(adminToken);
  const subs = Array.from({ length: 100 }, () => collect(full, EVENTS, { c: ['system'] }));
  const extra = await collect(full, EVENTS, { c: ['system'] }).ended;
  assert(
    Array.isArray(extra.error) && extra.error[0].extensions?.code === 'BAD_USER_INPUT',
    `the 101st operation is refused: ${JSON.stringify(extra)}`,
  );
  subs.forEach((s) => s.unsubscribe());
  console.log('limits: 21 channels, a too complex selection and a 101st operation are refused');
  await full.dispose();
}

console.log('graphql-ws client: ok');
process.exit(0);
