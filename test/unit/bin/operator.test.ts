import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parse } from 'yaml';
import { main, type CliIO } from '../../../bin/cli.ts';
import { age, colorDiff, table } from '../../../bin/commands/operator.ts';
import type { Identity } from '../../../resources/identity.ts';
import type { Resource } from '../../../resources/types.ts';
import { bearerAuth, defaultAllowedHosts, hostOriginGuard, jsonBody, rateLimit, type HttpSecurityOptions } from '../../../mcp/http/security.ts';
import { createRestRouter, REST_PREFIX, type ProposalApi, type ProposedChange } from '../../../mcp/rest/index.ts';
import { tempDir } from '../../support/manifests.ts';
import { appWith, listen, newAuth } from '../mcp/http/fixtures.ts';

/** A REST API over a real store and token index; proposals are a small fake that records them Pending. */
async function server(t: TestContext) {
  const auth = await newAuth(t);
  const proposed: { changes: ProposedChange[]; reason: string; proposedBy: Identity }[] = [];
  const proposals: ProposalApi = {
    async propose(input) {
      proposed.push(input);
      const name = `p-${proposed.length}`;
      auth.store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Proposal', metadata: { name }, spec: { ...input, risk: 'low', expiresAt: new Date(Date.now() + 3600_000).toISOString() } });
      return auth.store.updateStatus('Proposal', name, { phase: 'Pending', diff: '--- a/x\n+++ b/x\n+added\n' });
    },
    async approve(id) {
      return auth.store.updateStatus('Proposal', id, { phase: 'Applied', commit: 'abc123' });
    },
    async reject(id) {
      return auth.store.updateStatus('Proposal', id, { phase: 'Rejected' });
    },
  };
  let port = 0;
  const opts: HttpSecurityOptions = { tokens: auth.tokens, allowedHosts: () => defaultAllowedHosts(port) };
  port = await listen(t, appWith((a) => a.use(REST_PREFIX, hostOriginGuard(opts), bearerAuth(opts), rateLimit(opts), jsonBody(opts), createRestRouter({ store: auth.store, proposals }))));
  const admin = auth.mint('admin', ['admin']);
  return { auth, proposed, url: `http://127.0.0.1:${port}`, token: admin.token };
}

async function cli(args: string[], opts: { url?: string; token?: string; color?: boolean } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s), color: opts.color ?? false };
  const extra = [...(opts.url ? ['--server', opts.url] : []), ...(opts.token ? ['--token', opts.token] : [])];
  const code = await main(['node', 'systemmanager', ...args, ...extra], io);
  return { code, out, err };
}

/** closedPort is a loopback port nothing listens on (fetch refuses "bad ports" such as 1 before connecting). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const container = (name: string, image: string): Record<string, unknown> => ({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name }, spec: { image } });

test('get prints a kubectl-style table and accepts plural, singular or Kind', async (t) => {
  const s = await server(t);
  s.auth.store.upsert(container('web', 'busybox:1') as never);
  s.auth.store.updateStatus('Container', 'web', { observedGeneration: 1, state: 'running', containerID: '0123456789abcdef', conditions: [{ type: 'Ready', status: 'True', reason: 'Running', lastTransitionTime: new Date().toISOString() }] });
  s.auth.store.upsert(container('db', 'postgres:16') as never);
  const outputs = [];
  for (const kind of ['containers', 'container', 'Container', 'CONTAINERS']) {
    const r = await cli(['get', kind], { url: s.url, token: s.token });
    assert.equal(r.code, 0, r.err);
    outputs.push(r.out);
  }
  assert.equal(new Set(outputs).size, 1);
  const lines = outputs[0]!.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME   READY   STATUS    AGE$/);
  assert.match(lines[1]!, /^db     -       Pending   \d+s$/);
  assert.match(lines[2]!, /^web    True    Running   \d+s$/);
  const wide = await cli(['get', 'containers', 'web', '-o', 'wide'], { url: s.url, token: s.token });
  assert.match(wide.out, /^NAME +READY +STATUS +AGE +IMAGE +STATE +HEALTH +RESTARTS +CONTAINER-ID\nweb +True +Running +\d+s +busybox:1 +running +- +- +0123456789ab\n$/);
});

test('get -o json and -o yaml print what the server holds', async (t) => {
  const s = await server(t);
  s.auth.store.upsert(container('web', 'busybox:1') as never);
  const json = JSON.parse((await cli(['get', 'containers', 'web', '-o', 'json'], { url: s.url, token: s.token })).out) as Resource;
  assert.equal(json.metadata.name, 'web');
  assert.equal(json.metadata.uid, s.auth.store.get('Container', 'web')!.metadata.uid);
  const list = parse((await cli(['get', 'containers', '-o', 'yaml'], { url: s.url, token: s.token })).out) as { kind: string; items: Resource[] };
  assert.equal(list.kind, 'ContainerList');
  assert.equal(list.items[0]!.spec.image, 'busybox:1');
  const bad = await cli(['get', 'containers', '-o', 'xml'], { url: s.url, token: s.token });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--output must be one of wide, yaml, json/);
});

test('errors read like kubectl: server errors with their code, unknown kinds, empty lists, unreachable servers', async (t) => {
  const s = await server(t);
  const missing = await cli(['get', 'containers', 'nope'], { url: s.url, token: s.token });
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'Error from server (NOT_FOUND): Container/nope not found\n');
  const unknown = await cli(['get', 'widgets'], { url: s.url, token: s.token });
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /^error: the server doesn't have a resource type "widgets" \(known: containers, images/);
  const empty = await cli(['get', 'packages'], { url: s.url, token: s.token });
  assert.equal(empty.code, 0);
  assert.equal(empty.out, '');
  assert.equal(empty.err, 'No resources found.\n');
  const noToken = await cli(['get', 'containers'], { url: s.url });
  assert.equal(noToken.code, 1);
  assert.match(noToken.err, /^Error from server \(UNAUTHENTICATED\): authentication required/);
  const port = await closedPort();
  const down = await cli(['get', 'containers'], { url: `http://127.0.0.1:${port}`, token: s.token });
  assert.equal(down.code, 1);
  assert.equal(down.err, `error: cannot reach the server at http://127.0.0.1:${port}: ECONNREFUSED\n`);
});

test('the server and token come from SYSTEMMANAGER_URL and SYSTEMMANAGER_TOKEN when no flags are given', async (t) => {
  const s = await server(t);
  s.auth.store.upsert(container('web', 'busybox:1') as never);
  const saved = { url: process.env.SYSTEMMANAGER_URL, token: process.env.SYSTEMMANAGER_TOKEN };
  t.after(() => {
    for (const [k, v] of [['SYSTEMMANAGER_URL', saved.url], ['SYSTEMMANAGER_TOKEN', saved.token]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.SYSTEMMANAGER_URL = s.url;
  process.env.SYSTEMMANAGER_TOKEN = s.token;
  const r = await cli(['get', 'containers']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^NAME.*\nweb /);
});

test('diff exits 1 with a unified diff when applying would change something, 0 when not, 2 on errors', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const file = join(dir, 'web.yaml');
  await writeFile(file, 'apiVersion: systemmanager.io/v1alpha1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: busybox:2\n');
  const created = await cli(['diff', '-f', file], { url: s.url, token: s.token });
  assert.equal(created.code, 1);
  assert.match(created.out, /^--- \/dev\/null\tserver\n\+\+\+ b\/containers\/web\tweb\.yaml\n/);
  s.auth.store.upsert(container('web', 'busybox:1') as never);
  const updated = await cli(['diff', '-f', file], { url: s.url, token: s.token });
  assert.equal(updated.code, 1);
  assert.match(updated.out, /-  image: busybox:1\n\+  image: busybox:2\n/);
  s.auth.store.upsert(container('web', 'busybox:2') as never);
  s.auth.store.updateStatus('Container', 'web', { state: 'running' });
  const same = await cli(['diff', '-f', file], { url: s.url, token: s.token });
  assert.equal(same.code, 0, 'status and server-set metadata are not differences');
  assert.equal(same.out, '');

  await writeFile(join(dir, 'bad.yaml'), 'apiVersion: systemmanager.io/v1alpha1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: 42\n');
  const invalid = await cli(['diff', '-f', join(dir, 'bad.yaml')], { url: s.url, token: s.token });
  assert.equal(invalid.code, 2);
  assert.match(invalid.err, /bad\.yaml is not valid:\n.*\/spec\/image/);
  assert.equal((await cli(['diff', '-f', join(dir, 'none.yaml')], { url: s.url, token: s.token })).code, 2);
  assert.equal((await cli(['diff', '-f', file], { url: `http://127.0.0.1:${await closedPort()}`, token: s.token })).code, 2);
});

test('apply proposes only what differs and prints the id, the risk, the diff and how to approve', async (t) => {
  const s = await server(t);
  s.auth.store.upsert(container('same', 'busybox:1') as never);
  s.auth.store.upsert(container('old', 'busybox:1') as never);
  const dir = await tempDir(t);
  const file = join(dir, 'apps.yaml');
  const doc = (name: string, image: string) => `apiVersion: systemmanager.io/v1alpha1\nkind: Container\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;
  await writeFile(file, [doc('same', 'busybox:1'), doc('old', 'busybox:2'), doc('new', 'busybox:3')].join('---\n'));
  const r = await cli(['apply', '-f', file], { url: s.url, token: s.token });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^container\/same unchanged\nproposal\/p-1 created\n  risk: +low\n/m);
  assert.match(r.out, /\+added/);
  assert.match(r.out, /systemmanager approve p-1\n$/);
  assert.deepEqual(s.proposed[0]!.changes.map((c) => `${c.operation} ${c.name}`), ['update old', 'create new']);
  assert.equal(s.proposed[0]!.reason, 'apply apps.yaml');
  assert.equal(s.proposed[0]!.proposedBy.agent, 'admin');
});

test('proposals list, show, approve and reject', async (t) => {
  const s = await server(t);
  const dir = await tempDir(t);
  const file = join(dir, 'web.yaml');
  await writeFile(file, 'apiVersion: systemmanager.io/v1alpha1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: busybox:2\n');
  await cli(['apply', '-f', file, '--reason', 'a reason that is long enough to need cutting when the table is printed for a narrow terminal'], { url: s.url, token: s.token });
  const list = await cli(['proposals'], { url: s.url, token: s.token });
  assert.match(list.out, /^ID +PHASE +RISK +PROPOSER +AGE +EXPIRES +REASON\np-1 +Pending +low +admin +\d+s +in (59m\d*s?|60m|1h) +a reason that is long enough.*…\n$/);
  const shown = await cli(['proposals', 'show', 'p-1'], { url: s.url, token: s.token, color: true });
  assert.match(shown.out, /Phase: +Pending/);
  assert.match(shown.out, /\u001b\[32m\+added\u001b\[0m/);
  const approved = await cli(['approve', 'p-1', '--comment', 'ok'], { url: s.url, token: s.token });
  assert.equal(approved.out, 'proposal/p-1 approved (phase: Applied)\n  commit:  abc123\n');
  const none = await cli(['proposals', 'list', '--phase', 'Pending'], { url: s.url, token: s.token });
  assert.equal(none.err, 'No Pending proposals found.\n');
  const rejected = await cli(['reject', 'p-1'], { url: s.url, token: s.token });
  assert.equal(rejected.out, 'proposal/p-1 rejected (phase: Rejected)\n');
  const missing = await cli(['proposals', 'show', 'p-9'], { url: s.url, token: s.token });
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^Error from server \(PROPOSAL_NOT_FOUND\)/);
});

test('age follows kubectl buckets; tables pad columns by three spaces; diffs are colored only for terminals', () => {
  const now = new Date('2025-01-10T00:00:00Z');
  const ago = (s: number) => age(new Date(now.getTime() - s * 1000).toISOString(), now);
  assert.deepEqual([ago(5), ago(119), ago(200), ago(600), ago(3 * 3600 + 60), ago(9 * 3600), ago(3 * 86400 + 7200), ago(40 * 86400), ago(800 * 86400)], ['5s', '119s', '3m20s', '10m', '3h1m', '9h', '3d2h', '40d', '2y']);
  assert.equal(age(undefined, now), '<unknown>');
  assert.equal(table([['A', 'BB'], ['ccc', 'd']]), 'A     BB\nccc   d\n');
  assert.equal(colorDiff('+a\n-b\n c', false), '+a\n-b\n c');
  assert.equal(colorDiff('+a\n-b', true), '\u001b[32m+a\u001b[0m\n\u001b[31m-b\u001b[0m');
});
