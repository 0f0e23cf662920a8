// A real agent (store, manifests source, controllers, token index, proposal service, audit log,
// HTTP listener) driven over real HTTP and through the CLI's main(): the operator's path from a
// manifest file to a proposal, an approval by another identity, the file in the manifests
// directory (committed when it is a git work tree) and the resource in the store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { main, type CliIO } from '../../bin/cli.ts';
import { mintToken } from '../../controllers/token/index.ts';
import { Agent } from '../../mcp/agent.ts';
import { stringifyManifest } from '../../resources/yaml-codec.ts';
import { commandAvailable, requirePart } from '../support/parts.ts';
import { tempDir } from '../support/manifests.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);

interface Started {
  agent: Agent;
  manifests: string;
  tokens: Record<'proposer' | 'approver' | 'reader' | 'admin', { token: string; file: string; id: string }>;
}

async function startAgent(t: TestContext, opts: { git: boolean; trustedProxies?: string[] }): Promise<Started> {
  const manifests = await tempDir(t, 'sm-rest-manifests-');
  const state = await tempDir(t, 'sm-rest-state-');
  if (opts.git) {
    await run('git', ['init', '--quiet', manifests]);
  }
  const tokens = {} as Started['tokens'];
  const specs = { proposer: ['container:admin'], approver: ['proposals:approve'], reader: ['readonly'], admin: ['admin'] } as const;
  for (const [role, scopes] of Object.entries(specs)) {
    const m = mintToken({ agent: role, scopes });
    const file = join(manifests, `token-${role}.yaml`);
    await writeFile(file, stringifyManifest([m.resource]));
    tokens[role as keyof Started['tokens']] = { token: m.token, file, id: m.id };
  }
  const agent = await Agent.start({
    manifestsDir: manifests,
    stateDir: state,
    listen: { host: '127.0.0.1', port: 0 },
    hostName: 'rest-test',
    dockerSocket: join(state, 'no-docker.sock'), // keep the container controller away from any real engine
    ...(opts.trustedProxies ? { trustedProxies: opts.trustedProxies } : {}),
  });
  t.after(() => agent.stop());
  return { agent, manifests, tokens };
}

async function cli(args: string[], server: string, token: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s), color: false };
  const code = await main(['node', 'systemmanager', ...args, '--server', server, '--token', token], io);
  return { code, out, err };
}

function api(agent: Agent, path: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${agent.url}/api/v1alpha1${path}`, { ...init, headers });
}

const WEB = `apiVersion: systemmanager.io/v1alpha1
kind: Container
metadata:
  name: web
  labels:
    app: web
spec:
  image: systemmanager-test/busybox:1
  pullPolicy: Never
  network: none
  state: stopped
`;

test('apply -f proposes, another identity approves, the manifest is written and committed, the store shows it', async (t) => {
  if (!(await requirePart(t, 'git', () => commandAvailable('git'), 'apt-get install -y git'))) return;
  const { agent, manifests, tokens } = await startAgent(t, { git: true });
  const input = join(await tempDir(t, 'sm-rest-input-'), 'web.yaml');
  await writeFile(input, WEB);

  const before = await cli(['diff', '-f', input], agent.url, tokens.reader.token);
  assert.equal(before.code, 1, `diff exits 1 when applying would change something\n${before.err}`);
  assert.match(before.out, /\+\+\+ b\/containers\/web/);
  assert.match(before.out, /\+  image: systemmanager-test\/busybox:1/);

  const applied = await cli(['apply', '-f', input, '--reason', 'serve the web page'], agent.url, tokens.proposer.token);
  assert.equal(applied.code, 0, applied.err);
  const id = /proposal\/(\S+) created/.exec(applied.out)?.[1];
  assert.ok(id, applied.out);
  assert.match(applied.out, /risk: +\w+/);
  assert.match(applied.out, /change: +create Container\/web/);
  assert.match(applied.out, new RegExp(`systemmanager approve ${id}`));
  assert.equal(agent.store.get('Container', 'web'), undefined, 'nothing changes before approval');

  const listed = await cli(['proposals', '--phase', 'Pending'], agent.url, tokens.reader.token);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, /^ID +PHASE +RISK +PROPOSER +AGE +EXPIRES +REASON/);
  assert.match(listed.out, new RegExp(`${id} +Pending +\\w+ +proposer .*serve the web page`));

  const shown = await cli(['proposals', 'show', id], agent.url, tokens.reader.token);
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /Proposed by: +proposer/);
  assert.match(shown.out, /\+ +image: systemmanager-test\/busybox:1/);

  const selfish = await cli(['approve', id], agent.url, tokens.proposer.token);
  assert.equal(selfish.code, 1);
  assert.match(selfish.err, /^Error from server \(FORBIDDEN_SCOPE\): .*proposals:approve/);

  const approved = await cli(['approve', id, '--comment', 'ok'], agent.url, tokens.approver.token);
  assert.equal(approved.code, 0, approved.err + approved.out);
  assert.match(approved.out, new RegExp(`proposal/${id} approved \\(phase: Applied\\)`));

  const files = (await run('git', ['-C', manifests, 'ls-files'])).stdout.split('\n');
  const written = files.find((f) => /web/.test(f));
  assert.ok(written, `a manifest for web is committed: ${files.join(', ')}`);
  assert.match(await readFile(join(manifests, written), 'utf8'), /image: systemmanager-test\/busybox:1/);
  const log = (await run('git', ['-C', manifests, 'log', '-1', '--format=%an%n%B'])).stdout;
  assert.match(log, /^approver/);
  assert.match(log, new RegExp(id));

  const web = await waitFor(() => agent.store.get('Container', 'web'), { timeoutMs: 10_000, message: 'Container/web in the store' });
  assert.equal((web.spec as { image: string }).image, 'systemmanager-test/busybox:1');
  assert.deepEqual(web.metadata.labels, { app: 'web' });

  const got = await cli(['get', 'containers'], agent.url, tokens.reader.token);
  assert.equal(got.code, 0, got.err);
  assert.match(got.out, /^NAME +READY +STATUS +AGE\nweb +/);
  const wide = await cli(['get', 'container', 'web', '-o', 'wide'], agent.url, tokens.reader.token);
  assert.match(wide.out, /IMAGE.*\nweb .*systemmanager-test\/busybox:1/);
  const described = await cli(['describe', 'Container', 'web'], agent.url, tokens.reader.token);
  assert.equal(described.code, 0, described.err);
  assert.match(described.out, /^Name: +web\nKind: +Container\nLabels: +app=web\n/);
  assert.match(described.out, new RegExp(`Origin: +${written.replace(/[.]/g, '\\.')}:\\d+`));
  assert.match(described.out, /Conditions:\n/);
  assert.match(described.out, /Events:\n/);

  const after = await cli(['diff', '-f', input], agent.url, tokens.reader.token);
  assert.equal(after.code, 0, `no difference once applied\n${after.out}${after.err}`);
  assert.equal(after.out, '');
  const again = await cli(['apply', '-f', input], agent.url, tokens.proposer.token);
  assert.equal(again.code, 0);
  assert.match(again.out, /container\/web unchanged/);
  assert.match(again.out, /no changes/);

  await writeFile(input, WEB.replace('state: stopped', 'state: running'));
  const changed = await cli(['diff', '-f', input], agent.url, tokens.reader.token);
  assert.equal(changed.code, 1);
  assert.match(changed.out, /-  state: stopped\n\+  state: running/);
  const update = await cli(['apply', '-f', input], agent.url, tokens.proposer.token);
  assert.match(update.out, /change: +update Container\/web/);
  const second = /proposal\/(\S+) created/.exec(update.out)![1]!;
  const rejected = await cli(['reject', second, '--comment', 'not now'], agent.url, tokens.approver.token);
  assert.equal(rejected.code, 0, rejected.err);
  assert.match(rejected.out, /rejected \(phase: Rejected\)/);
  const replay = await cli(['approve', second], agent.url, tokens.approver.token);
  assert.equal(replay.code, 1);
  assert.match(replay.err, /^Error from server \(PROPOSAL_NOT_PENDING\)/);
});

test('REST bad inputs against a real agent: auth, scopes, self-approval, guards, sizes', async (t) => {
  const { agent, tokens } = await startAgent(t, { git: false });

  assert.equal((await api(agent, '/containers', undefined)).status, 401);
  const inQuery = await api(agent, `/containers?access_token=${tokens.reader.token}`, tokens.reader.token);
  assert.equal(inQuery.status, 400);
  assert.equal(((await inQuery.json()) as { code: string }).code, 'TOKEN_IN_QUERY');
  const flipped = tokens.reader.token.slice(0, -1) + (tokens.reader.token.endsWith('x') ? 'y' : 'x');
  assert.equal((await api(agent, '/containers', flipped)).status, 401);
  assert.equal((await api(agent, '/containers', tokens.reader.token.slice(0, 20))).status, 401);

  const forbidden = await api(agent, '/accesstokens', tokens.reader.token);
  assert.equal(forbidden.status, 403);
  assert.deepEqual(await forbidden.json(), { code: 'FORBIDDEN_SCOPE', message: 'insufficient_scope: reading accesstokens needs the system:admin scope', error: 'insufficient_scope', scope: 'system:admin' });
  const cliForbidden = await cli(['get', 'accesstokens'], agent.url, tokens.reader.token);
  assert.equal(cliForbidden.code, 1);
  assert.match(cliForbidden.err, /^Error from server \(FORBIDDEN_SCOPE\): insufficient_scope/);

  const unknown = await api(agent, '/widgets', tokens.reader.token);
  assert.equal(unknown.status, 404);
  assert.ok(((await unknown.json()) as { known: string[] }).known.includes('healthprobes'));

  // Self-approval: the admin token may both propose and approve, but not its own proposal.
  const proposed = await api(agent, '/proposals', tokens.admin.token, {
    method: 'POST',
    headers: { 'content-type': 'application/yaml' },
    body: WEB,
  });
  assert.equal(proposed.status, 400, 'a YAML body without ?reason= is refused');
  const created = await api(agent, '/proposals?reason=self%20test', tokens.admin.token, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: WEB });
  assert.equal(created.status, 201, await created.clone().text());
  const proposal = (await created.json()) as { metadata: { name: string }; spec: { proposedBy: { agent: string } } };
  assert.equal(proposal.spec.proposedBy.agent, 'admin');
  const self = await api(agent, `/proposals/${proposal.metadata.name}/approve`, tokens.admin.token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(self.status, 403);
  assert.equal(((await self.json()) as { code: string }).code, 'SELF_APPROVAL');
  const byReader = await api(agent, `/proposals/${proposal.metadata.name}/approve`, tokens.reader.token, { method: 'POST' });
  assert.equal(byReader.status, 403);
  assert.equal(((await byReader.json()) as { error: string }).error, 'insufficient_scope');

  const foreign = await api(agent, '/containers', tokens.reader.token, { headers: { origin: 'http://evil.example' } });
  assert.equal(foreign.status, 403);
  assert.equal(((await foreign.json()) as { code: string }).code, 'FORBIDDEN_ORIGIN');

  const big = await api(agent, '/proposals', tokens.admin.token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'x', pad: 'x'.repeat(10 * 1024 * 1024) }) });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  const many = Array.from({ length: 10_000 }, (_, i) => ({ operation: 'delete', kind: 'Container', name: `c${i}`, baseResourceVersion: '1' }));
  const tooMany = await api(agent, '/proposals', tokens.admin.token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'flood', changes: many }) });
  assert.equal(tooMany.status, 413);
  assert.equal(((await tooMany.json()) as { code: string }).code, 'PROPOSAL_TOO_LARGE');

  // Revocation through the manifests directory takes effect as soon as the file is read.
  assert.equal((await api(agent, '/containers', tokens.reader.token)).status, 200);
  const text = await readFile(tokens.reader.file, 'utf8');
  await writeFile(tokens.reader.file, text.replace(/\nspec:\n/, '\nspec:\n  revoked: true\n'));
  await waitFor(async () => (await api(agent, '/containers', tokens.reader.token)).status === 401, { timeoutMs: 10_000, message: 'the revoked token is refused' });

  const who = await api(agent, '/whoami', tokens.approver.token);
  assert.deepEqual(((await who.json()) as { scopes: string[] }).scopes, ['proposals:approve']);
});

test('forged Tailscale identity headers are ignored when the sender is not a trusted proxy', async (t) => {
  const { agent, tokens } = await startAgent(t, { git: false, trustedProxies: ['192.0.2.1'] });
  const who = await api(agent, '/whoami', tokens.reader.token, { headers: { 'tailscale-user-login': 'admin@example.com', 'tailscale-user-name': 'Admin' } });
  assert.equal(who.status, 200);
  const body = (await who.json()) as { identity: Record<string, string> };
  assert.equal(body.identity.agent, 'reader');
  assert.equal(body.identity.tailscaleLogin, undefined);
  assert.equal(body.identity.tailscaleName, undefined);
});
