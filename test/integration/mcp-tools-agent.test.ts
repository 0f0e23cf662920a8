// The new tools inside a whole agent, configured the way `serve` configures it: --file-root and
// the http allowlist go through AgentOptions into the tools, get_active_connections reads the real
// host, check_system_updates reads the package controller's cache. Traffic stays on loopback: the
// only HTTP target is the agent's own listener on 127.0.0.1.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type CliIO } from '../../bin/cli.ts';
import { Agent } from '../../mcp/agent.ts';
import { expandScopes } from '../../resources/scopes.ts';
import { FakePackageBackend } from '../unit/controllers/package/fake-backend.ts';
import { waitFor } from '../support/wait.ts';

const admin = { identity: { agent: 'ops' }, scopes: expandScopes(['admin']) };

async function start(t: TestContext, opts: { httpAllowlist?: string[]; noFileRoots?: boolean } = {}) {
  // Removed only after the agent stopped: stopping flushes the state directory.
  const [manifests, state, files] = await Promise.all(['manifests', 'state', 'files'].map((p) => mkdtemp(join(tmpdir(), `sm-tools-${p}-`))));
  await mkdir(join(files!, 'etc'));
  await writeFile(join(files!, 'etc', 'app.conf'), 'port = 8080\n');
  const backend = new FakePackageBackend().offer('openssl', '3.0.11-1', '3.0.15-1');
  backend.installed.set('openssl', '3.0.11-1');
  const agent = await Agent.start({
    manifestsDir: manifests!,
    stateDir: state!,
    listen: { host: '127.0.0.1', port: 0 },
    hostName: 'tools-test',
    dockerSocket: join(state!, 'no-docker.sock'),
    packageBackend: backend,
    ...(opts.noFileRoots ? {} : { fileRoots: [files!] }),
    ...(opts.httpAllowlist ? { httpAllowlist: opts.httpAllowlist } : {}),
  });
  t.after(async () => {
    await agent.stop();
    await Promise.all([manifests, state, files].map((d) => rm(d!, { recursive: true, force: true })));
  });
  const call = (name: string, args: Record<string, unknown>) => agent.mcp.registry.call(name, args, admin, AbortSignal.timeout(20_000));
  return { agent, files: files!, call };
}

test('file roots, the http allowlist, connections and updates reach the tools of a running agent', async (t) => {
  const { agent, files, call } = await start(t, { httpAllowlist: ['127.0.0.1/32'] });
  const read = await call('file_operations', { operation: 'read', path: join(files, 'etc', 'app.conf') });
  assert.equal((read.structuredContent as { content: string }).content, 'port = 8080\n');
  const outside = await call('file_operations', { operation: 'read', path: '/etc/hostname' });
  assert.equal(outside.isError, true);
  assert.match((outside.content as Array<{ text: string }>)[0]!.text, /PATH_FORBIDDEN.*outside the allowed roots/);

  const health = await call('http_request_test', { url: `${agent.url}/healthz`, expectedStatus: 200 });
  assert.ok(!health.isError, JSON.stringify(health.content));
  assert.equal((health.structuredContent as { statusMatches: boolean }).statusMatches, true);
  assert.match((health.structuredContent as { bodyPreview: string }).bodyPreview, /"status":"ok"/);

  const port = Number(new URL(agent.url).port);
  const conns = await call('get_active_connections', { state: 'LISTEN', port });
  const listening = (conns.structuredContent as { connections: Array<{ localAddress: string; localPort: number }> }).connections;
  assert.ok(listening.some((c) => c.localPort === port && c.localAddress === '127.0.0.1'), JSON.stringify(listening));

  const updates = await waitFor(async () => {
    const r = (await call('check_system_updates', {})).structuredContent as { count: number; packages: Array<{ name: string; candidate: string }> };
    return r.count > 0 ? r : undefined;
  }, { message: 'the upgradable list is computed' });
  assert.deepEqual(updates.packages.map((p) => [p.name, p.candidate]), [['openssl', '3.0.15-1']]);
  const proposal = await call('update_system_packages', { reason: 'patch' });
  assert.ok(!proposal.isError, JSON.stringify(proposal.content));
  const id = (proposal.structuredContent as { proposal: { id: string; diff: string } }).proposal;
  assert.match(id.diff, /version: 3\.0\.15-1/);
});

test('without --file-root and the allowlist, the agent refuses both', async (t) => {
  const { agent, call } = await start(t, { noFileRoots: true });
  const files = await call('file_operations', { operation: 'list', path: '/' });
  assert.match((files.content as Array<{ text: string }>)[0]!.text, /FILE_ROOTS_NOT_CONFIGURED/);
  const own = await call('http_request_test', { url: `${agent.url}/healthz` });
  assert.match((own.content as Array<{ text: string }>)[0]!.text, /ADDRESS_BLOCKED.*loopback/);
});

test('serve takes --file-root and --http-allow, and refuses a malformed allowlist entry', async () => {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s), color: false };
  await main(['node', 'systemmanager', 'serve', '--help'], io);
  assert.match(out, /--file-root <dir>/);
  assert.match(out, /--http-allow <cidr\|host>/);
  const code = await main(['node', 'systemmanager', 'serve', '--http-allow', '10.0.0.0/99'], io);
  assert.notEqual(code, 0);
  assert.match(err, /httpAllowlist: 10\.0\.0\.0\/99 has an invalid prefix length/);
});
