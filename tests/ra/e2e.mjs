// Drives rest-edge through the stock, unmodified ra-data-simple-rest provider: all nine
// provider methods on every resource, as an admin and as a project viewer (whose writes must be
// rejected with the HTTP status in the thrown HttpError).
//
// Run by tests/tests/rest_react_admin.rs with REST_URL, ADMIN_TOKEN, VIEWER_TOKEN, VIEWER_ID,
// OTHER_USER_ID and PROJECT_ID (a project where the viewer is a viewer) in the environment.
// Prints one line per check and "N passed, N failed" at the end; exits 1 on any failure.
import simpleRestProvider from 'ra-data-simple-rest';
import { fetchUtils } from 'ra-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set`);
  return v;
};
const API = env('REST_URL');
const provider = (token) =>
  simpleRestProvider(API, (url, options = {}) => {
    const headers = options.headers instanceof Headers ? options.headers : new Headers(options.headers || {});
    headers.set('Authorization', `Bearer ${token}`);
    return fetchUtils.fetchJson(url, { ...options, headers });
  });
const admin = provider(env('ADMIN_TOKEN'));
const viewer = provider(env('VIEWER_TOKEN'));
const PROJECT_ID = env('PROJECT_ID');
const VIEWER_ID = env('VIEWER_ID');
const OTHER_USER_ID = env('OTHER_USER_ID');

let passed = 0;
let failed = 0;
const check = async (name, fn) => {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}${e && e.body ? ' ' + JSON.stringify(e.body) : ''}`);
  }
};
const assert = (cond, msg) => {
  if (!cond) throw new Error(msg);
};
const rejects = async (promise, status) => {
  try {
    await promise;
  } catch (e) {
    assert(e.status === status, `expected HTTP ${status}, got ${e.status}: ${e.message}`);
    assert(typeof e.message === 'string' && e.message.length > 0, 'HttpError without a message');
    return e;
  }
  throw new Error(`expected HTTP ${status}, but the call succeeded`);
};
const page = (perPage = 10) => ({ page: 1, perPage });
const sort = (field = 'id', order = 'ASC') => ({ field, order });
const uniq = () => Math.random().toString(36).slice(2, 8);

// The nine methods on one resource, with resource-specific data.
async function crud(resource, { make, change, target, targetId, bulkChange }) {
  const a = (await admin.create(resource, { data: make() })).data;
  const b = (await admin.create(resource, { data: make() })).data;
  const c = (await admin.create(resource, { data: make() })).data;
  assert(a.id && b.id && c.id, 'created records have ids');
  await check(`${resource}.getList`, async () => {
    const r = await admin.getList(resource, { pagination: page(2), sort: sort(), filter: {} });
    assert(r.data.length === 2 && r.total >= 3, `page of 2 with total >= 3, got ${r.data.length}/${r.total}`);
  });
  await check(`${resource}.getOne`, async () => {
    const r = await admin.getOne(resource, { id: a.id });
    assert(r.data.id === a.id, 'same id');
  });
  await check(`${resource}.getMany`, async () => {
    const r = await admin.getMany(resource, { ids: [a.id, b.id] });
    assert(r.data.length === 2, `two records, got ${r.data.length}`);
  });
  await check(`${resource}.getManyReference`, async () => {
    const r = await admin.getManyReference(resource, {
      target, id: targetId(a), pagination: page(25), sort: sort('id', 'DESC'), filter: {},
    });
    assert(r.data.some((x) => x.id === a.id) && r.total >= 1, 'the referencing record is listed');
  });
  await check(`${resource}.update`, async () => {
    const fresh = (await admin.getOne(resource, { id: a.id })).data;
    const r = await admin.update(resource, { id: a.id, data: { ...fresh, ...change() }, previousData: fresh });
    assert(r.data.id === a.id && r.data.version === fresh.version + 1, 'version bumped');
    // The same record again carries a stale version: 409.
    await rejects(admin.update(resource, { id: a.id, data: { ...fresh, ...change() }, previousData: fresh }), 409);
  });
  await check(`${resource}.updateMany`, async () => {
    const r = await admin.updateMany(resource, { ids: [b.id, c.id], data: bulkChange() });
    assert(r.data.length === 2 && r.data.includes(b.id), 'ids of updated records');
  });
  await check(`${resource}.delete`, async () => {
    const r = await admin.delete(resource, { id: a.id, previousData: a });
    assert(r.data.id === a.id, 'deleted record returned');
  });
  await check(`${resource}.deleteMany`, async () => {
    const r = await admin.deleteMany(resource, { ids: [b.id, c.id] });
    assert(r.data.length === 2, 'ids of deleted records');
  });
  return a;
}

// Projects.
await check('projects: nine methods', async () => {
  await crud('projects', {
    make: () => ({ slug: `ra-${uniq()}`, name: 'RA project', description: 'from ra-data-simple-rest' }),
    change: () => ({ name: `Renamed ${uniq()}` }),
    bulkChange: () => ({ description: 'bulk' }),
    target: 'owner_id',
    targetId: (r) => r.owner_id,
  });
});

// A project of the admin's for members and configs.
const project = (await admin.create('projects', { data: { slug: `ra-main-${uniq()}`, name: 'main' } })).data;

await check('members: nine methods', async () => {
  const users = [];
  for (let i = 0; i < 3; i++) {
    users.push((await admin.create('users', {
      data: { email: `m-${uniq()}@platform.test`, name: 'member', password: 'member-password-1234' },
    })).data);
  }
  let i = 0;
  await crud('members', {
    make: () => ({ project_id: project.id, user_id: users[i++].id, role: 'viewer' }),
    change: () => ({ role: 'editor' }),
    bulkChange: () => ({ role: 'editor' }),
    target: 'project_id',
    targetId: (r) => r.project_id,
  });
});

await check('configs: nine methods', async () => {
  await crud('configs', {
    make: () => ({ project_id: project.id, key: `ra.${uniq()}`, value: { enabled: true, n: 1 } }),
    change: () => ({ value: [1, 2, 3] }),
    bulkChange: () => ({ value: 'bulk' }),
    target: 'project_id',
    targetId: (r) => r.project_id,
  });
});

await check('settings: nine methods', async () => {
  await crud('settings', {
    make: () => ({ key: `ra.${uniq()}`, value: uniq() }),
    change: () => ({ value: 'changed' }),
    bulkChange: () => ({ value: 'bulk' }),
    target: 'key',
    targetId: (r) => r.key,
  });
});

// Users: no delete in the platform (disable instead): the provider sees 405.
await check('users: nine methods', async () => {
  const u = (await admin.create('users', {
    data: { email: `u-${uniq()}@platform.test`, name: 'U', password: 'user-password-1234' },
  })).data;
  assert(u.role === 'user' && u.status === 'active', 'defaults');
  const r = await admin.getList('users', { pagination: page(1), sort: sort('email', 'ASC'), filter: { q: 'u-' } });
  assert(r.data.length === 1 && r.total >= 1, 'getList');
  assert((await admin.getOne('users', { id: u.id })).data.email === u.email, 'getOne');
  assert((await admin.getMany('users', { ids: [u.id, OTHER_USER_ID] })).data.length === 2, 'getMany');
  const ref = await admin.getManyReference('users', {
    target: 'status', id: 'active', pagination: page(50), sort: sort(), filter: {},
  });
  assert(ref.data.some((x) => x.id === u.id), 'getManyReference');
  const upd = await admin.update('users', { id: u.id, data: { ...u, name: 'U2' }, previousData: u });
  assert(upd.data.name === 'U2', 'update');
  await rejects(admin.update('users', { id: u.id, data: { ...u, name: 'U3' }, previousData: u }), 409);
  const many = await admin.updateMany('users', { ids: [u.id], data: { name: 'U4' } });
  assert(many.data[0] === u.id, 'updateMany');
  await rejects(admin.delete('users', { id: u.id, previousData: u }), 405);
  await rejects(admin.deleteMany('users', { ids: [u.id] }), 405);
});

// config-revisions and events are read-only logs: writes are 405.
await check('config-revisions: nine methods', async () => {
  const cfg = (await admin.create('configs', { data: { project_id: project.id, key: `rev.${uniq()}`, value: 1 } })).data;
  await admin.update('configs', { id: cfg.id, data: { ...cfg, value: 2 }, previousData: cfg });
  const r = await admin.getList('config-revisions', {
    pagination: page(10), sort: sort('version', 'ASC'), filter: { config_id: cfg.id },
  });
  assert(r.total === 2 && r.data[0].op === 'set', 'getList');
  assert((await admin.getOne('config-revisions', { id: r.data[0].id })).data.version === 1, 'getOne');
  assert((await admin.getMany('config-revisions', { ids: r.data.map((x) => x.id) })).data.length === 2, 'getMany');
  const ref = await admin.getManyReference('config-revisions', {
    target: 'config_id', id: cfg.id, pagination: page(5), sort: sort('created_at', 'DESC'), filter: {},
  });
  assert(ref.total === 2, 'getManyReference');
  await rejects(admin.create('config-revisions', { data: {} }), 405);
  await rejects(admin.update('config-revisions', { id: r.data[0].id, data: {}, previousData: {} }), 405);
  await rejects(admin.updateMany('config-revisions', { ids: [r.data[0].id], data: {} }), 405);
  await rejects(admin.delete('config-revisions', { id: r.data[0].id, previousData: {} }), 405);
  await rejects(admin.deleteMany('config-revisions', { ids: [r.data[0].id] }), 405);
});

await check('events: nine methods', async () => {
  let r;
  for (let i = 0; i < 100; i++) {
    r = await admin.getList('events', { pagination: page(5), sort: sort('seq', 'DESC'), filter: { type: 'project.*' } });
    if (r.total >= 2) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert(r.total >= 2 && r.data[0].seq > r.data[1].seq, 'getList');
  assert((await admin.getOne('events', { id: r.data[0].id })).data.seq === r.data[0].seq, 'getOne');
  const many = await admin.getMany('events', { ids: [r.data[0].id, r.data[1].id] });
  assert(many.data.length === 2, `getMany: ${many.data.length}`);
  const ref = await admin.getManyReference('events', {
    target: 'resource_id', id: project.id, pagination: page(5), sort: sort(), filter: {},
  });
  assert(ref.total >= 1 && ref.data.every((e) => e.resource_id === project.id), 'getManyReference');
  // A project's audit log: ReferenceManyField reference="events" target="project_id".
  const byProject = await admin.getManyReference('events', {
    target: 'project_id', id: project.id, pagination: page(50), sort: sort('seq', 'DESC'), filter: { type: 'config.*' },
  });
  assert(
    byProject.total >= 1 && byProject.data.every((e) => e.channels.includes(`project:${project.id}`) && e.type.startsWith('config.')),
    'getManyReference by project_id',
  );
  const since = await admin.getList('events', {
    pagination: page(5), sort: sort('seq', 'ASC'), filter: { occurred_at_gte: new Date(Date.now() + 3600e3).toISOString() },
  });
  assert(since.total === 0, 'occurred_at_gte in the future matches nothing');
  await rejects(admin.create('events', { data: {} }), 405);
  await rejects(admin.update('events', { id: r.data[0].id, data: {}, previousData: {} }), 405);
  await rejects(admin.updateMany('events', { ids: [r.data[0].id], data: {} }), 405);
  await rejects(admin.delete('events', { id: r.data[0].id, previousData: {} }), 405);
  await rejects(admin.deleteMany('events', { ids: [r.data[0].id] }), 405);
});

// API tokens: created and revoked (delete), never updated.
await check('api-tokens: nine methods', async () => {
  const t = (await admin.create('api-tokens', { data: { name: `ra-${uniq()}` } })).data;
  const t2 = (await admin.create('api-tokens', { data: { name: `ra-${uniq()}` } })).data;
  assert(t.token && t.token.startsWith('psm_'), 'secret shown once');
  const r = await admin.getList('api-tokens', { pagination: page(10), sort: sort('name', 'ASC'), filter: { revoked: false } });
  assert(r.total >= 2, 'getList');
  const one = (await admin.getOne('api-tokens', { id: t.id })).data;
  assert(one.id === t.id && one.token === undefined, 'getOne without secret');
  assert((await admin.getMany('api-tokens', { ids: [t.id, t2.id] })).data.length === 2, 'getMany');
  const ref = await admin.getManyReference('api-tokens', {
    target: 'user_id', id: t.user_id, pagination: page(10), sort: sort(), filter: {},
  });
  assert(ref.total >= 2, 'getManyReference');
  await rejects(admin.update('api-tokens', { id: t.id, data: t, previousData: t }), 405);
  await rejects(admin.updateMany('api-tokens', { ids: [t.id], data: {} }), 405);
  assert((await admin.delete('api-tokens', { id: t.id, previousData: t })).data.revoked_at, 'delete revokes');
  assert((await admin.deleteMany('api-tokens', { ids: [t2.id] })).data.length === 1, 'deleteMany');
});

// Webhooks: the nine methods; the secret only in the answer to create.
await check('webhooks: nine methods', async () => {
  let n = 0;
  const a = await crud('webhooks', {
    make: () => ({
      project_id: project.id, url: `https://hooks.example.com/ra/${n++}`, event_types: ['config.*'], description: 'ra',
    }),
    change: () => ({ url: `https://hooks.example.com/changed/${uniq()}`, active: false }),
    bulkChange: () => ({ description: 'bulk' }),
    target: 'project_id',
    targetId: (r) => r.project_id,
  });
  assert(typeof a.secret === 'string' && a.secret.length >= 16, 'secret shown on create');
});

// Webhook deliveries: read-only, appear once a matching event happened.
await check('webhook-deliveries: nine methods', async () => {
  const hook = (await admin.create('webhooks', {
    data: { project_id: project.id, url: 'https://hooks.example.com/ra-deliveries', event_types: ['config.*'] },
  })).data;
  await admin.create('configs', { data: { project_id: project.id, key: `hooked.${uniq()}`, value: 1 } });
  let r;
  for (let i = 0; i < 200; i++) {
    r = await admin.getList('webhook-deliveries', {
      pagination: page(5), sort: sort('created_at', 'DESC'), filter: { webhook_id: hook.id },
    });
    if (r.total >= 1) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert(r.total >= 1 && r.data[0].webhook_id === hook.id && r.data[0].event_type === 'config.set', 'getList');
  const d = r.data[0];
  assert((await admin.getOne('webhook-deliveries', { id: d.id })).data.task_id === d.task_id, 'getOne');
  assert((await admin.getMany('webhook-deliveries', { ids: [d.id] })).data.length === 1, 'getMany');
  const ref = await admin.getManyReference('webhook-deliveries', {
    target: 'webhook_id', id: hook.id, pagination: page(5), sort: sort(), filter: { project_id: project.id },
  });
  assert(ref.total >= 1 && ref.data.every((x) => x.webhook_id === hook.id), 'getManyReference');
  await rejects(admin.create('webhook-deliveries', { data: {} }), 405);
  await rejects(admin.update('webhook-deliveries', { id: d.id, data: {}, previousData: {} }), 405);
  await rejects(admin.updateMany('webhook-deliveries', { ids: [d.id], data: {} }), 405);
  await rejects(admin.delete('webhook-deliveries', { id: d.id, previousData: {} }), 405);
  await rejects(admin.deleteMany('webhook-deliveries', { ids: [d.id] }), 405);
  await admin.delete('webhooks', { id: hook.id, previousData: hook });
});

// Tasks: an export queued with POST /projects/{id}/export, then read; clients never write tasks.
await check('tasks: nine methods', async () => {
  const queued = (await fetchUtils.fetchJson(`${API}/projects/${project.id}/export`, {
    method: 'POST', headers: new Headers({ Authorization: `Bearer ${env('ADMIN_TOKEN')}` }),
  }));
  assert(queued.status === 202 && queued.json.kind === 'project.export', `202 + task, got ${queued.status}`);
  const t = queued.json;
  const r = await admin.getList('tasks', { pagination: page(5), sort: sort('created_at', 'DESC'), filter: { kind: 'project.export' } });
  assert(r.total >= 1 && r.data.some((x) => x.id === t.id), 'getList');
  assert((await admin.getOne('tasks', { id: t.id })).data.project_id === project.id, 'getOne');
  assert((await admin.getMany('tasks', { ids: [t.id] })).data.length === 1, 'getMany');
  const ref = await admin.getManyReference('tasks', {
    target: 'project_id', id: project.id, pagination: page(5), sort: sort(), filter: {},
  });
  assert(ref.total >= 1 && ref.data.every((x) => x.project_id === project.id), 'getManyReference');
  await rejects(admin.create('tasks', { data: { kind: 'project.export' } }), 405);
  await rejects(admin.update('tasks', { id: t.id, data: t, previousData: t }), 405);
  await rejects(admin.updateMany('tasks', { ids: [t.id], data: {} }), 405);
  await rejects(admin.delete('tasks', { id: t.id, previousData: t }), 405);
  await rejects(admin.deleteMany('tasks', { ids: [t.id] }), 405);
});

// The viewer reads the project and what is under it; every write is refused by core-svc.
await check('viewer: reads allowed', async () => {
  assert((await viewer.getOne('projects', { id: PROJECT_ID })).data.my_role === 'viewer', 'getOne project');
  const r = await viewer.getList('projects', { pagination: page(10), sort: sort(), filter: {} });
  assert(r.total === 1, `sees only their project, got ${r.total}`);
  const m = await viewer.getManyReference('members', {
    target: 'project_id', id: PROJECT_ID, pagination: page(10), sort: sort(), filter: {},
  });
  assert(m.total >= 2, 'members of the project');
  await viewer.getList('configs', { pagination: page(10), sort: sort(), filter: { project_id: PROJECT_ID } });
});
await check('viewer: writes rejected', async () => {
  const p = (await viewer.getOne('projects', { id: PROJECT_ID })).data;
  await rejects(viewer.update('projects', { id: PROJECT_ID, data: { ...p, name: 'hijack' }, previousData: p }), 403);
  await rejects(viewer.updateMany('projects', { ids: [PROJECT_ID], data: { name: 'x' } }), 403);
  await rejects(viewer.delete('projects', { id: PROJECT_ID, previousData: p }), 403);
  await rejects(viewer.deleteMany('projects', { ids: [PROJECT_ID] }), 403);
  await rejects(viewer.create('configs', { data: { project_id: PROJECT_ID, key: 'x', value: 1 } }), 403);
  await rejects(viewer.create('members', { data: { project_id: PROJECT_ID, user_id: OTHER_USER_ID, role: 'owner' } }), 403);
  await rejects(viewer.create('users', { data: { email: 'v@x.test', name: 'v', password: 'viewer-password-1' } }), 403);
  await rejects(viewer.create('settings', { data: { key: 'x.y', value: 1 } }), 403);
  // Webhooks are the owners' business.
  await rejects(viewer.getManyReference('webhooks', {
    target: 'project_id', id: PROJECT_ID, pagination: page(10), sort: sort(), filter: {},
  }), 403);
  await rejects(viewer.create('webhooks', {
    data: { project_id: PROJECT_ID, url: 'https://hooks.example.com/v', event_types: ['*'] },
  }), 403);
  // Another user's record: not visible at all.
  await rejects(viewer.getOne('projects', { id: project.id }), 404);
  const me = (await viewer.getOne('users', { id: VIEWER_ID })).data;
  await rejects(viewer.update('users', { id: VIEWER_ID, data: { ...me, role: 'admin' }, previousData: me }), 403);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
