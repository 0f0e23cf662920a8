import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BASE_ANNOTATION, MAX_CHANGES, type ProposalSpec } from '../../../../controllers/proposal/index.ts';
import { validateResource } from '../../../../resources/validation.ts';
import { tempDir } from '../../../support/manifests.ts';
import { alice, bob, carol, container, setup, WEB_YAML, type Fixture } from './fixtures.ts';

const spec = (p: { spec: unknown }) => p.spec as ProposalSpec;
const exists = (path: string) => access(path).then(() => true, () => false);

async function proposeWebUpdate(f: Fixture, extra: Record<string, unknown> = { state: 'stopped' }) {
  return f.service.propose({ changes: [{ operation: 'update', object: container('web', extra) }], reason: 'stop web for maintenance', proposedBy: alice.identity });
}

/** snapshot captures what a refused request must leave alone. */
async function snapshot(f: Fixture) {
  return {
    proposals: f.service.list().map((p) => [p.metadata.name, p.status?.phase, p.metadata.resourceVersion]),
    web: await readFile(join(f.manifests, 'web.yaml'), 'utf8').catch(() => undefined),
    files: (await readdir(f.manifests, { recursive: true })).sort(),
  };
}

test('propose records a Pending proposal with diff, risk, hash, expiry, base fingerprints and an audit line', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const web = f.store.get('Container', 'web')!;
  const p = await proposeWebUpdate(f);
  assert.match(p.metadata.name, /^p-20261123-231500-[0-9a-f]{4}$/);
  assert.equal(p.status?.phase, 'Pending');
  assert.equal(spec(p).risk, 'moderate');
  assert.equal(spec(p).expiresAt, '2026-11-24T23:15:00.000Z');
  assert.deepEqual(spec(p).proposedBy, alice.identity);
  assert.equal(spec(p).changes[0]!.baseResourceVersion, web.metadata.resourceVersion);
  assert.match(String(p.status?.contentHash), /^sha256:[0-9a-f]{64}$/);
  assert.match(String(p.status?.diff), /^--- a\/web\.yaml\n\+\+\+ b\/web\.yaml\n@@/);
  assert.match(String(p.status?.diff), /^-  state: running$/m);
  assert.match(String(p.status?.diff), /^\+  state: stopped$/m);
  assert.ok(JSON.parse(p.metadata.annotations![BASE_ANNOTATION]!)['Container/web'].startsWith('sha256:'));
  assert.equal(validateResource({ apiVersion: p.apiVersion, kind: p.kind, metadata: p.metadata, spec: p.spec, status: p.status }).ok, true, 'the stored proposal is valid against its schema');
  await access(join(f.state, 'resources', 'Proposal', `${p.metadata.name}.json`));
  const [line] = await f.auditLines();
  assert.equal(line!.action, 'proposal.created');
  assert.equal(line!.proposal, p.metadata.name);
  assert.equal(line!.identity?.agent, 'alice');
  assert.equal(await readFile(join(f.manifests, 'web.yaml'), 'utf8'), WEB_YAML, 'proposing writes nothing');
});

test('approval by another identity applies: the file changes, comments stay, the source loads it', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const outcome = await f.service.approveWithOutcome(p.metadata.name, bob, 'ok');
  assert.equal(outcome.replayed, false);
  assert.equal(outcome.proposal.status?.phase, 'Applied');
  const approvals = outcome.proposal.status?.approvals as Array<{ by: { agent: string }; selfApproved: boolean; comment: string }>;
  assert.deepEqual(approvals.map((a) => [a.by.agent, a.selfApproved, a.comment]), [['bob', false, 'ok']]);
  const text = await readFile(join(f.manifests, 'web.yaml'), 'utf8');
  assert.match(text, /^# the web server$/m);
  assert.match(text, /# pinned/);
  assert.match(text, /state: stopped/);
  await f.source.rescan();
  assert.equal(f.store.get('Container', 'web')!.spec.state, 'stopped');
  assert.deepEqual((await f.auditLines()).map((l) => [l.action, l.outcome]), [
    ['proposal.created', 'allowed'],
    ['proposal.approved', 'allowed'],
    ['proposal.applied', 'succeeded'],
  ]);
});

test('create goes to <plural>/<name>.yaml and delete removes the file', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const created = await f.service.propose({
    changes: [{ operation: 'create', object: { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Package', metadata: { name: 'curl' }, spec: { name: 'curl' } } }],
    reason: 'need curl',
    proposedBy: alice.identity,
  });
  assert.match(String(created.status?.diff), /^--- \/dev\/null\n\+\+\+ b\/packages\/curl\.yaml/);
  await f.service.approve(created.metadata.name, bob);
  assert.equal(parse(await readFile(join(f.manifests, 'packages', 'curl.yaml'), 'utf8')).spec.name, 'curl');

  const deleted = await f.service.propose({ changes: [{ operation: 'delete', kind: 'Container', name: 'web' }], reason: 'retire web', proposedBy: alice.identity });
  assert.equal(spec(deleted).risk, 'high');
  assert.match(String(deleted.status?.diff), /^\+\+\+ \/dev\/null$/m);
  assert.equal((await f.service.approve(deleted.metadata.name, bob)).status?.phase, 'Applied');
  assert.equal(await exists(join(f.manifests, 'web.yaml')), false);
});

test('in a multi-document file only the target document changes; the others and their comments stay', async (t) => {
  const other = ['# the api server', 'apiVersion: systemmanager.io/v1alpha1', 'kind: Container', 'metadata:', '  name: api', 'spec:', '  image: systemmanager-test/busybox:1 # keep me', ''].join('\n');
  const f = await setup(t, { 'apps.yaml': `${WEB_YAML}---\n${other}` });
  const p = await proposeWebUpdate(f);
  assert.match(String(p.status?.diff), /a\/apps\.yaml/);
  await f.service.approve(p.metadata.name, bob);
  const text = await readFile(join(f.manifests, 'apps.yaml'), 'utf8');
  assert.match(text, /# the api server/);
  assert.match(text, /# keep me/);
  assert.match(text, /# pinned/);
  await f.source.rescan();
  assert.equal(f.store.get('Container', 'web')!.spec.state, 'stopped');
  assert.ok(f.store.get('Container', 'api'));

  await f.service.approve((await f.service.propose({ changes: [{ operation: 'delete', kind: 'Container', name: 'web' }], reason: 'drop web', proposedBy: alice.identity })).metadata.name, bob);
  await f.source.rescan();
  assert.equal(f.store.get('Container', 'web'), undefined);
  assert.ok(f.store.get('Container', 'api'), 'the other document survives');
  assert.match(await readFile(join(f.manifests, 'apps.yaml'), 'utf8'), /# keep me/);
});

test('self-approval is refused and changes nothing', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const before = await snapshot(f);
  await assert.rejects(f.service.approve(p.metadata.name, alice), { code: 'SELF_APPROVAL', message: /different identity/ });
  // Same person through another token: the Tailscale login decides.
  const aliceViaTailscale = { identity: { agent: 'alice-laptop', tokenId: 'tok-other', tailscaleLogin: 'alice@example.com' }, scopes: alice.scopes };
  const p2 = await f.service.propose({ changes: [{ operation: 'update', object: container('web', { state: 'stopped' }) }], reason: 'x', proposedBy: { agent: 'alice', tailscaleLogin: 'alice@example.com' } });
  await assert.rejects(f.service.approve(p2.metadata.name, aliceViaTailscale), { code: 'SELF_APPROVAL' });
  assert.deepEqual((await snapshot(f)).web, before.web);
  assert.equal(f.service.get(p.metadata.name)!.status?.phase, 'Pending');
  assert.deepEqual((await f.auditLines()).filter((l) => l.outcome === 'denied').map((l) => l.action), ['proposal.approved', 'proposal.approved']);
});

test('with allowSelfApproval the proposer may approve, and it is marked and audited', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML }, { allowSelfApproval: true });
  const p = await proposeWebUpdate(f);
  const done = await f.service.approve(p.metadata.name, alice);
  assert.equal(done.status?.phase, 'Applied');
  assert.equal((done.status?.approvals as Array<{ selfApproved: boolean }>)[0]!.selfApproved, true);
  const approved = (await f.auditLines()).find((l) => l.action === 'proposal.approved');
  assert.match(String(approved!.detail), /self-approved/);
});

test('approval without the proposals:approve scope is refused and changes nothing', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const before = await snapshot(f);
  await assert.rejects(f.service.approve(p.metadata.name, carol), { code: 'FORBIDDEN_SCOPE', message: /proposals:approve/ });
  await assert.rejects(f.service.reject(p.metadata.name, carol), { code: 'FORBIDDEN_SCOPE' });
  assert.deepEqual(await snapshot(f), before);
});

test('an expired proposal cannot be approved', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await f.service.propose({ changes: [{ operation: 'update', object: container('web', { state: 'stopped' }) }], reason: 'x', proposedBy: alice.identity, expiresInMs: 60_000 });
  f.clock.now = new Date(f.clock.now.getTime() + 61_000);
  await assert.rejects(f.service.approve(p.metadata.name, bob), { code: 'PROPOSAL_NOT_PENDING', message: /is expired: it expired at/ });
  assert.equal(f.service.get(p.metadata.name)!.status?.phase, 'Expired');
  assert.equal(await readFile(join(f.manifests, 'web.yaml'), 'utf8'), WEB_YAML);
});

test('a rejected proposal cannot be approved; rejecting needs the scope and records who', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const rejected = await f.service.reject(p.metadata.name, bob, 'not now');
  assert.equal(rejected.status?.phase, 'Rejected');
  assert.equal((rejected.status?.rejectedBy as { agent: string }).agent, 'bob');
  assert.equal(rejected.status?.message, 'not now');
  assert.equal((await f.service.reject(p.metadata.name, bob)).status?.phase, 'Rejected', 'a replayed rejection is harmless');
  await assert.rejects(f.service.approve(p.metadata.name, bob), { code: 'PROPOSAL_NOT_PENDING', message: /is rejected: it was rejected by bob/ });
  assert.equal(await readFile(join(f.manifests, 'web.yaml'), 'utf8'), WEB_YAML);
});

test('a replayed approval returns the current state and applies nothing twice; another approver is refused', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const first = await f.service.approve(p.metadata.name, bob);
  const text = await readFile(join(f.manifests, 'web.yaml'), 'utf8');
  const replay = await f.service.approveWithOutcome(p.metadata.name, bob);
  assert.equal(replay.replayed, true);
  assert.match(replay.message, /already approved by bob.*Applied.*nothing was done again/);
  assert.deepEqual(replay.proposal, f.service.get(p.metadata.name));
  assert.equal(replay.proposal.metadata.resourceVersion, first.metadata.resourceVersion);
  assert.equal(await readFile(join(f.manifests, 'web.yaml'), 'utf8'), text);
  const dave = { identity: { agent: 'dave' }, scopes: bob.scopes };
  await assert.rejects(f.service.approve(p.metadata.name, dave), { code: 'PROPOSAL_NOT_PENDING', message: /is applied: it was already applied/ });
  assert.equal((await f.auditLines()).filter((l) => l.action === 'proposal.applied').length, 1);
});

test('concurrent approvals apply once', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const results = await Promise.allSettled([f.service.approveWithOutcome(p.metadata.name, bob), f.service.approveWithOutcome(p.metadata.name, bob)]);
  assert.deepEqual(results.map((r) => r.status === 'fulfilled' && r.value.replayed), [false, true]);
  assert.equal((await f.auditLines()).filter((l) => l.action === 'proposal.applied').length, 1);
});

test('a target modified after the proposal makes it Stale; status writes do not', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  // Status churn (probes, controllers) moves resourceVersion but not the desired state.
  f.store.updateStatus('Container', 'web', { observedGeneration: 1, state: 'running' });
  const q = await proposeWebUpdate(f, { state: 'stopped', restartPolicy: 'always' });
  assert.equal((await f.service.approve(p.metadata.name, bob)).status?.phase, 'Applied', 'a status write did not make it stale');
  await f.source.rescan();
  const applied = await readFile(join(f.manifests, 'web.yaml'), 'utf8');
  // q was made against the old web: the apply of p moved its target.
  await assert.rejects(f.service.approve(q.metadata.name, bob), { code: 'PROPOSAL_STALE', message: /Container\/web changed since the proposal was made/ });
  assert.equal(f.service.get(q.metadata.name)!.status?.phase, 'Stale');
  assert.equal(await readFile(join(f.manifests, 'web.yaml'), 'utf8'), applied, 'nothing written');
  await assert.rejects(f.service.approve(q.metadata.name, bob), { code: 'PROPOSAL_NOT_PENDING', message: /is stale/ });
});

test('a change that fails schema validation is refused with the field named, and nothing is recorded', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const bad = container('web', { ports: [{ containerPort: 80, hostPort: 70000 }] });
  await assert.rejects(f.service.propose({ changes: [{ operation: 'update', object: bad }], reason: 'x', proposedBy: alice.identity }), {
    code: 'SCHEMA_INVALID',
    message: /\/spec\/changes\/0\/object: Container\/web: \/spec\/ports\/0\/hostPort: must be <= 65535/,
  });
  await assert.rejects(f.service.propose({ changes: [{ operation: 'update', object: container('web', { bogus: 1 }) }], reason: 'x', proposedBy: alice.identity }), { message: /\/spec\/bogus: unknown field/ });
  await assert.rejects(f.service.propose({ changes: [{ operation: 'update', object: container('web') }], reason: '', proposedBy: alice.identity }), { code: 'SCHEMA_INVALID', message: /\/spec\/reason/ });
  await assert.rejects(f.service.propose({ changes: [{ operation: 'create', object: container('web') }], reason: 'x', proposedBy: alice.identity }), { code: 'ALREADY_EXISTS' });
  await assert.rejects(f.service.propose({ changes: [{ operation: 'delete', kind: 'Container', name: 'nope' }], reason: 'x', proposedBy: alice.identity }), { code: 'NOT_FOUND' });
  await assert.rejects(f.service.propose({ changes: [{ operation: 'delete', kind: 'Proposal', name: 'nope' }], reason: 'x', proposedBy: alice.identity }), { code: 'SCHEMA_INVALID', message: /created by the server/ });
  await assert.rejects(
    f.service.propose({ changes: [{ operation: 'update', object: container('web') }, { operation: 'delete', kind: 'Container', name: 'web' }], reason: 'x', proposedBy: alice.identity }),
    { message: /changed twice/ },
  );
  assert.deepEqual(f.service.list(), []);
  assert.deepEqual(await f.auditLines(), []);
});

test('10,000 changes are refused before any work: PROPOSAL_TOO_LARGE', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  let touched = 0;
  const changes = Array.from({ length: 10_000 }, (_, i) => ({
    operation: 'create' as const,
    get object() {
      touched += 1;
      return container(`c-${i}`);
    },
  }));
  await assert.rejects(f.service.propose({ changes, reason: 'many', proposedBy: alice.identity }), { code: 'PROPOSAL_TOO_LARGE', message: new RegExp(`at most ${MAX_CHANGES} changes; this one has 10000`) });
  assert.equal(touched, 0, 'no change was even looked at');
  assert.deepEqual(f.service.list(), []);
  assert.deepEqual(await f.auditLines(), []);
});

test('a manifest path outside the directory is refused: symlinked directory, crafted origin, or a swap before approval', async (t) => {
  const outside = await tempDir(t, 'sm-outside-');
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  await symlink(outside, join(f.manifests, 'packages'));
  const pkg = { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Package' as const, metadata: { name: 'curl' }, spec: { name: 'curl' } };
  await assert.rejects(f.service.propose({ changes: [{ operation: 'create', object: pkg }], reason: 'x', proposedBy: alice.identity }), { code: 'MANIFEST_PATH_OUTSIDE' });

  const crafted = await setup(t, { 'web.yaml': WEB_YAML }, {});
  const { ProposalService } = await import('../../../../controllers/proposal/index.ts');
  const { silentLogger } = await import('../../../../resources/log.ts');
  for (const file of ['../escape.yaml', '/etc/passwd', 'a/../../escape.yaml']) {
    const service = new ProposalService({ store: crafted.store, source: { dir: crafted.manifests, originOf: () => ({ file, line: 1 }) }, audit: crafted.audit, manifestsDir: crafted.manifests, logger: silentLogger, git: false });
    await assert.rejects(service.propose({ changes: [{ operation: 'update', object: container('web', { state: 'stopped' }) }], reason: 'x', proposedBy: alice.identity }), { code: 'MANIFEST_PATH_OUTSIDE' }, file);
  }

  // The directory was fine when proposed, and is a symlink out by approval time.
  await rm(join(f.manifests, 'packages'));
  const p = await f.service.propose({ changes: [{ operation: 'create', object: pkg }], reason: 'x', proposedBy: alice.identity });
  await symlink(outside, join(f.manifests, 'packages'));
  await assert.rejects(f.service.approve(p.metadata.name, bob), { code: 'MANIFEST_PATH_OUTSIDE' });
  assert.equal(f.service.get(p.metadata.name)!.status?.phase, 'Failed');
  assert.deepEqual(await readdir(outside), [], 'nothing was written outside');
});

test('when the audit log cannot be written, propose, approve and reject fail closed and change nothing', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const before = await snapshot(f);
  await rm(f.audit.path);
  await mkdir(f.audit.path);
  await assert.rejects(proposeWebUpdate(f), { code: 'AUDIT_UNAVAILABLE' });
  await assert.rejects(f.service.approve(p.metadata.name, bob), { code: 'AUDIT_UNAVAILABLE' });
  await assert.rejects(f.service.reject(p.metadata.name, bob), { code: 'AUDIT_UNAVAILABLE' });
  await assert.rejects(f.service.approve(p.metadata.name, alice), { code: 'AUDIT_UNAVAILABLE' }, 'even a denial must be audited');
  assert.deepEqual(await snapshot(f), before);
});

test('content changed after proposing is refused at apply (content hash)', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  const p = await proposeWebUpdate(f);
  const tampered = structuredClone(spec(p));
  tampered.changes[0]!.object!.spec.image = 'evil/image:1';
  f.store.upsert({ apiVersion: p.apiVersion, kind: 'Proposal', metadata: { name: p.metadata.name, annotations: p.metadata.annotations }, spec: tampered as unknown as Record<string, unknown> });
  await assert.rejects(f.service.approve(p.metadata.name, bob), { code: 'APPLY_FAILED', message: /content hash mismatch/ });
  assert.equal(f.service.get(p.metadata.name)!.status?.phase, 'Failed');
  assert.equal(await readFile(join(f.manifests, 'web.yaml'), 'utf8'), WEB_YAML);
});

test('unknown proposals are PROPOSAL_NOT_FOUND; list filters by phase', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  await assert.rejects(f.service.approve('p-nope', bob), { code: 'PROPOSAL_NOT_FOUND' });
  await assert.rejects(f.service.reject('p-nope', bob), { code: 'PROPOSAL_NOT_FOUND' });
  const a = await proposeWebUpdate(f);
  const b = await proposeWebUpdate(f, { state: 'running', restartPolicy: 'always' });
  await f.service.reject(b.metadata.name, bob);
  assert.deepEqual(f.service.list({ phase: 'Pending' }).map((p) => p.metadata.name), [a.metadata.name]);
  assert.equal(f.service.list().length, 2);
});
