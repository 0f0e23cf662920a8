import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { AuditEntry } from '../../../../controllers/audit/types.ts';
import { MemoryEventRecorder } from '../../../../controllers/runtime/index.ts';
import { ManifestError, SystemManagerError } from '../../../../resources/errors.ts';
import type { Principal } from '../../../../resources/identity.ts';
import { KIND_NAMES, KINDS } from '../../../../resources/kinds.ts';
import type { Resource } from '../../../../resources/types.ts';
import { bearerAuth, defaultAllowedHosts, hostOriginGuard, jsonBody, rateLimit, type HttpSecurityOptions } from '../../../../mcp/http/security.ts';
import { createRestRouter, REST_PREFIX, type ProposalApi, type ProposedChange } from '../../../../mcp/rest/index.ts';
import { appWith, bearer, call, listen, newAuth, type Auth } from '../http/fixtures.ts';

/** FakeProposals stands in for the proposal service: it records what the router hands it. */
class FakeProposals implements ProposalApi {
  readonly proposed: { changes: ProposedChange[]; reason: string; proposedBy: Principal['identity'] }[] = [];
  readonly decided: { decision: string; id: string; by: Principal; comment?: string }[] = [];
  constructor(private readonly auth: Auth) {}
  async propose(input: { changes: ProposedChange[]; reason: string; proposedBy: Principal['identity'] }): Promise<Resource> {
    this.proposed.push(input);
    const name = `p-${this.proposed.length}`;
    this.auth.store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Proposal', metadata: { name }, spec: { changes: input.changes, reason: input.reason, proposedBy: input.proposedBy } });
    return this.auth.store.updateStatus('Proposal', name, { phase: 'Pending', diff: '+ new' });
  }
  async approve(id: string, by: Principal, comment?: string): Promise<Resource> {
    return this.decide('approve', id, by, comment);
  }
  async reject(id: string, by: Principal, comment?: string): Promise<Resource> {
    return this.decide('reject', id, by, comment);
  }
  private decide(decision: string, id: string, by: Principal, comment?: string): Resource {
    const p = this.auth.store.get('Proposal', id);
    if (!p) throw new SystemManagerError('PROPOSAL_NOT_FOUND', `proposal ${id} not found`);
    this.decided.push({ decision, id, by, comment });
    return this.auth.store.updateStatus('Proposal', id, { ...p.status, phase: decision === 'approve' ? 'Applied' : 'Rejected' });
  }
}

async function serve(t: TestContext) {
  const auth = await newAuth(t);
  const proposals = new FakeProposals(auth);
  const events = new MemoryEventRecorder();
  const audit: AuditEntry[] = [];
  const errors = new Map<string, ManifestError[]>();
  const source = {
    errorsFor: (key: string) => errors.get(key) ?? [],
    originOf: (key: string) => (key === 'Container/web' ? { file: 'apps/web.yaml', line: 3 } : undefined),
  };
  let port = 0;
  const opts: HttpSecurityOptions = { tokens: auth.tokens, allowedHosts: () => defaultAllowedHosts(port) };
  const app = appWith((a) => {
    a.use(REST_PREFIX, hostOriginGuard(opts), bearerAuth(opts), rateLimit(opts), jsonBody(opts), createRestRouter({ store: auth.store, proposals, events, source, audit: { append: (e) => audit.push(e) } }));
  });
  port = await listen(t, app);
  const admin = auth.mint('admin-bot', ['admin']);
  const reader = auth.mint('reader', ['readonly']);
  const get = (path: string, token = admin.token) => call(port, `${REST_PREFIX}${path}`, { headers: bearer(token) });
  const post = (path: string, body: unknown, token = admin.token, type = 'application/json') =>
    call(port, `${REST_PREFIX}${path}`, { method: 'POST', headers: { ...bearer(token), 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { auth, proposals, events, errors, audit, port, admin, reader, get, post };
}

function container(name: string, image = 'busybox:1'): Record<string, unknown> {
  return { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name }, spec: { image } };
}

test('lists are Kubernetes-shaped, per kind, and carry status', async (t) => {
  const s = await serve(t);
  s.auth.store.upsert(container('web') as never);
  s.auth.store.updateStatus('Container', 'web', { state: 'running' });
  s.auth.store.upsert(container('db') as never);
  const r = await s.get('/containers', s.reader.token);
  assert.equal(r.status, 200);
  assert.equal(r.json.kind, 'ContainerList');
  assert.equal(r.json.apiVersion, 'systemmanager.io/v1alpha1');
  assert.deepEqual(r.json.items.map((i: Resource) => i.metadata.name), ['db', 'web']);
  assert.equal(r.json.items[1].status.state, 'running');
  const one = await s.get('/containers/web', s.reader.token);
  assert.equal(one.json.kind, 'Container');
  assert.equal(one.json.spec.image, 'busybox:1');
  assert.equal(r.headers['cache-control'], 'no-store');
});

test('every kind is served at its lowercase plural', async (t) => {
  const s = await serve(t);
  for (const kind of KIND_NAMES) {
    const r = await s.get(`/${KINDS[kind].plural}`);
    assert.equal(r.status, 200, kind);
    assert.equal(r.json.kind, `${kind}List`);
  }
});

test('a missing resource is 404 NOT_FOUND; an unknown plural is 404 listing the known ones', async (t) => {
  const s = await serve(t);
  const missing = await s.get('/containers/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.code, 'NOT_FOUND');
  assert.match(missing.json.message, /Container\/nope not found/);
  const unknown = await s.get('/widgets');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.code, 'NOT_FOUND');
  assert.ok(unknown.json.known.includes('containers') && unknown.json.known.includes('healthprobes'));
  assert.match(unknown.json.message, /known: containers, images/);
  assert.equal((await s.get('/Containers')).status, 404, 'plurals are lowercase, as in Kubernetes');
});

test('a readonly token cannot read AccessTokens (403 insufficient_scope) but can read containers', async (t) => {
  const s = await serve(t);
  const r = await s.get('/accesstokens', s.reader.token);
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 'FORBIDDEN_SCOPE');
  assert.equal(r.json.error, 'insufficient_scope');
  assert.equal(r.json.scope, 'system:admin');
  assert.deepEqual(s.audit.map((e) => [e.action, e.outcome, e.scope, e.identity?.agent, e.target]), [['access.denied', 'denied', 'system:admin', 'reader', 'GET /api/v1alpha1/accesstokens']]);
  assert.equal((await s.get(`/accesstokens/${s.reader.id}`, s.reader.token)).status, 403);
  assert.equal((await s.get('/accesstokens', s.admin.token)).status, 200);
  const writer = s.auth.mint('w', ['container:admin']);
  assert.equal((await s.get('/containers', writer.token)).status, 200, 'whoever may propose changes to a kind may read it');
  assert.equal((await s.get('/images', writer.token)).status, 200);
  assert.equal((await s.get('/hosts', writer.token)).status, 403);
  const containerOnly = s.auth.mint('c', ['container:read']);
  assert.equal((await s.get('/packages', containerOnly.token)).status, 403, 'packages need system:read');
});

test('describe gathers conditions, events, origin file and its manifest errors', async (t) => {
  const s = await serve(t);
  s.auth.store.upsert(container('web') as never);
  s.auth.store.updateStatus('Container', 'web', { conditions: [{ type: 'Ready', status: 'False', reason: 'ImageMissing', message: 'no such image', lastTransitionTime: '2025-01-01T00:00:00Z' }] });
  s.events.record('Container/web', 'Warning', 'ImageMissing', 'no such image');
  s.errors.set('Container/web', [new ManifestError('SCHEMA_INVALID', { file: 'apps/web.yaml', line: 7, resource: 'Container/web', pointer: '/spec/ports' }, 'must be array')]);
  for (const path of ['/containers/web/describe', '/containers/web?describe=1']) {
    const r = await s.get(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.json.kind, 'Description');
    assert.equal(r.json.object.metadata.name, 'web');
    assert.equal(r.json.conditions[0].reason, 'ImageMissing');
    assert.equal(r.json.events[0].reason, 'ImageMissing');
    assert.deepEqual(r.json.origin, { file: 'apps/web.yaml', line: 3 });
    assert.equal(r.json.manifestErrors[0].code, 'SCHEMA_INVALID');
    assert.match(r.json.manifestErrors[0].message, /apps\/web\.yaml:7/);
  }
  assert.equal((await s.get('/containers/web/describe', s.auth.mint('n', ['network:diag']).token)).status, 403);
});

test('whoami returns the identity and the expanded scopes', async (t) => {
  const s = await serve(t);
  const r = await s.get('/whoami', s.reader.token);
  assert.equal(r.json.identity.agent, 'reader');
  assert.equal(r.json.identity.tokenId, s.reader.id);
  assert.ok(r.json.scopes.includes('system:read'));
  assert.ok(!r.json.scopes.includes('system:admin'));
});

test('a JSON proposal is completed from the store (create vs update) and attributed to the caller', async (t) => {
  const s = await serve(t);
  s.auth.store.upsert(container('web') as never);
  const rv = s.auth.store.get('Container', 'web')!.metadata.resourceVersion;
  const r = await s.post('/proposals', { reason: 'bump', changes: [{ operation: 'update', object: container('web', 'busybox:2') }, { object: container('db') }, { operation: 'delete', kind: 'Container', name: 'web' }] });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.kind, 'Proposal');
  const sent = s.proposals.proposed[0]!;
  assert.deepEqual(sent.proposedBy, { agent: 'admin-bot', tokenId: s.admin.id });
  assert.deepEqual(sent.changes.map((c) => [c.operation, c.kind, c.name, c.baseResourceVersion]), [
    ['update', 'Container', 'web', rv],
    ['create', 'Container', 'db', undefined],
    ['delete', 'Container', 'web', rv],
  ]);
});

test('a client cannot set proposedBy, and server-set metadata and status in objects are dropped', async (t) => {
  const s = await serve(t);
  const object = { ...container('web'), metadata: { name: 'web', uid: 'x', resourceVersion: '99' }, status: { state: 'running' } };
  await s.post('/proposals', { reason: 'x', proposedBy: { agent: 'someone-else' }, changes: [{ operation: 'create', object }] });
  const sent = s.proposals.proposed[0]!;
  assert.equal(sent.proposedBy.agent, 'admin-bot');
  assert.deepEqual(sent.changes[0]!.object, { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name: 'web' }, spec: { image: 'busybox:1' } });
});

test('a YAML body with several documents becomes one proposal', async (t) => {
  const s = await serve(t);
  s.auth.store.upsert(container('web') as never);
  const yaml = `apiVersion: systemmanager.io/v1alpha1\nkind: Container\nmetadata: {name: web}\nspec: {image: "busybox:2"}\n---\napiVersion: systemmanager.io/v1alpha1\nkind: Image\nmetadata: {name: bb}\nspec: {reference: "busybox:2"}\n`;
  const r = await s.post('/proposals?reason=from%20yaml', yaml, s.admin.token, 'application/yaml');
  assert.equal(r.status, 201, r.text);
  const sent = s.proposals.proposed[0]!;
  assert.equal(sent.reason, 'from yaml');
  assert.deepEqual(sent.changes.map((c) => `${c.operation} ${c.kind}/${c.name}`), ['update Container/web', 'create Image/bb']);
  const tagged = await s.post('/proposals?reason=x', 'a: !!js/function "x"\n', s.admin.token, 'application/yaml');
  assert.equal(tagged.status, 400);
  assert.equal(tagged.json.code, 'YAML_INVALID');
});

test('bad proposal requests: no reason, no changes, wrong types, server-owned kinds, wrong media type', async (t) => {
  const s = await serve(t);
  const cases: [unknown, number, string][] = [
    [{ changes: [{ operation: 'create', object: container('a') }] }, 400, 'BAD_REQUEST'],
    [{ reason: 'x', changes: [] }, 400, 'BAD_REQUEST'],
    [{ reason: 'x', changes: 'all of them' }, 400, 'BAD_REQUEST'],
    [{ reason: 'x', changes: [{ operation: 'explode', object: container('a') }] }, 400, 'BAD_REQUEST'],
    [{ reason: 'x', changes: [{ operation: 'create', object: { ...container('a'), kind: 'Widget' } }] }, 422, 'UNKNOWN_KIND'],
    [{ reason: 'x', changes: [{ operation: 'create', object: { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Proposal', metadata: { name: 'p' }, spec: {} } }] }, 400, 'BAD_REQUEST'],
    [{ reason: 'x', changes: [{ operation: 'delete', kind: 'Container', name: 'ghost' }] }, 404, 'NOT_FOUND'],
    [[1, 2, 3], 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [body, status, code] of cases) {
    const r = await s.post('/proposals', body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.json.code, code, JSON.stringify(body));
  }
  const text = await s.post('/proposals', 'reason=x', s.admin.token, 'text/plain');
  assert.equal(text.status, 415);
  assert.equal(s.proposals.proposed.length, 0);
});

test('a proposal with 10,000 changes is refused without reaching the service', async (t) => {
  const s = await serve(t);
  const changes = Array.from({ length: 10_000 }, (_, i) => ({ operation: 'delete', kind: 'Container', name: `c${i}`, baseResourceVersion: '1' }));
  const r = await s.post('/proposals', { reason: 'flood', changes });
  assert.equal(r.status, 413);
  assert.equal(r.json.code, 'PROPOSAL_TOO_LARGE');
  assert.equal(s.proposals.proposed.length, 0);
});

test('proposing needs the write scope of every target kind', async (t) => {
  const s = await serve(t);
  const containers = s.auth.mint('c', ['container:admin']);
  assert.equal((await s.post('/proposals', { reason: 'x', changes: [{ operation: 'create', object: container('a') }] }, containers.token)).status, 201);
  const pkg = { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Package', metadata: { name: 'curl' }, spec: { name: 'curl' } };
  const r = await s.post('/proposals', { reason: 'x', changes: [{ operation: 'create', object: pkg }] }, containers.token);
  assert.equal(r.status, 403);
  assert.equal(r.json.scope, 'system:admin');
  const w = await s.post('/proposals', { reason: 'x', changes: [{ operation: 'create', object: container('b') }] }, s.reader.token);
  assert.equal(w.status, 403);
  assert.equal(s.proposals.proposed.length, 1);
});

test('proposals: list with a phase filter, get, approve and reject with a comment', async (t) => {
  const s = await serve(t);
  await s.post('/proposals', { reason: 'one', changes: [{ operation: 'create', object: container('a') }] });
  await s.post('/proposals', { reason: 'two', changes: [{ operation: 'create', object: container('b') }] });
  const approver = s.auth.mint('alice', ['proposals:approve']);
  const approved = await s.post('/proposals/p-1/approve', { comment: 'lgtm' }, approver.token);
  assert.equal(approved.status, 200, approved.text);
  assert.equal(approved.json.status.phase, 'Applied');
  assert.equal(s.proposals.decided[0]!.comment, 'lgtm');
  assert.equal(s.proposals.decided[0]!.by.identity.agent, 'alice');
  const pending = await s.get('/proposals?phase=Pending', s.reader.token);
  assert.deepEqual(pending.json.items.map((p: Resource) => p.metadata.name), ['p-2']);
  assert.equal(pending.json.kind, 'ProposalList');
  const rejected = await s.post('/proposals/p-2/reject', {}, approver.token);
  assert.equal(rejected.json.status.phase, 'Rejected');
  assert.equal((await s.get('/proposals/p-2', s.auth.mint('nobody', ['network:diag']).token)).status, 200, 'proposals are readable by any authenticated caller');
  const missing = await s.post('/proposals/p-9/approve', {}, approver.token);
  assert.equal(missing.status, 404);
  assert.equal(missing.json.code, 'PROPOSAL_NOT_FOUND');
});

test('a readonly token cannot approve or reject (403 insufficient_scope)', async (t) => {
  const s = await serve(t);
  await s.post('/proposals', { reason: 'one', changes: [{ operation: 'create', object: container('a') }] });
  for (const d of ['approve', 'reject']) {
    const r = await s.post(`/proposals/p-1/${d}`, {}, s.reader.token);
    assert.equal(r.status, 403, d);
    assert.equal(r.json.error, 'insufficient_scope');
    assert.equal(r.json.scope, 'proposals:approve');
  }
  assert.equal(s.proposals.decided.length, 0);
  const bad = await s.post('/proposals/p-1/approve', { comment: 42 }, s.admin.token);
  assert.equal(bad.status, 400);
});

test('resources are never written directly: other methods are 405 pointing at proposals', async (t) => {
  const s = await serve(t);
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    const r = await call(s.port, `${REST_PREFIX}/containers/web`, { method, headers: { ...bearer(s.admin.token), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 405, method);
    assert.equal(r.json.code, 'METHOD_NOT_ALLOWED');
  }
  assert.equal((await s.post('/containers', container('x'))).status, 405);
  const deep = await s.get('/containers/web/logs');
  assert.equal(deep.status, 404);
});
