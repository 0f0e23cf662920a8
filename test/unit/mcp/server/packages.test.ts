import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { UpgradableSnapshot } from '../../../../controllers/package/index.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { createToolRegistry } from '../../../../mcp/server/index.ts';
import { packageResourceName } from '../../../../mcp/server/tools/packages.ts';
import { connect, errorOf, harness, principal } from './fixtures.ts';

async function packages(t: TestContext, snap: UpgradableSnapshot | undefined) {
  const h = await harness(t);
  const services = { ...h.services, ...(snap ? { packageUpdates: { snapshot: () => snap } } : {}) };
  const registry = createToolRegistry(services, { audit: h.audit });
  const client = await connect(t, { ...h, services, registry }, principal('ops', ['system:read', 'system:admin'], 'tok'));
  return { h, call: (name: string, args: Record<string, unknown> = {}) => client.callTool({ name, arguments: args }) };
}

const SNAP: UpgradableSnapshot = {
  packages: [
    { name: 'openssl', installed: '3.0.11-1', candidate: '3.0.15-1', origin: 'Debian-Security:12/stable-security' },
    { name: 'libstdc++6', installed: '12.2.0-14', candidate: '12.2.0-14+deb12u1', origin: 'Debian:12.8/stable' },
  ],
  checkedAt: '2025-01-01T00:00:00.000Z',
  stale: false,
  refreshing: false,
};

test('check_system_updates answers from the cached list and marks managed packages', async (t) => {
  const { h, call } = await packages(t, SNAP);
  h.store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'openssl' }, spec: { name: 'openssl' } });
  const r = (await call('check_system_updates')).structuredContent as { count: number; packages: Array<{ name: string; managed: boolean; candidate: string }>; checkedAt: string };
  assert.equal(r.count, 2);
  assert.deepEqual(r.packages.map((p) => [p.name, p.managed, p.candidate]), [['openssl', true, '3.0.15-1'], ['libstdc++6', false, '12.2.0-14+deb12u1']]);
  assert.equal(r.checkedAt, SNAP.checkedAt);
});

test('without the package controller the package tools say so', async (t) => {
  const { call } = await packages(t, undefined);
  const r = await call('check_system_updates');
  assert.equal(r.isError, true);
  assert.equal(errorOf(r).code, 'SERVICE_UNAVAILABLE');
});

test('update_system_packages proposes pinning every upgradable package to its candidate, as one proposal', async (t) => {
  const { h, call } = await packages(t, SNAP);
  h.store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'openssl' }, spec: { name: 'openssl', state: 'present' } });
  const r = await call('update_system_packages', { reason: 'monthly patching' });
  assert.ok(!r.isError, JSON.stringify(r.content));
  assert.equal(h.proposals.items.size, 1);
  const p = [...h.proposals.items.values()][0]!;
  const changes = (p.spec as { changes: Array<{ operation: string; name: string; object: { spec: Record<string, unknown> } }> }).changes;
  assert.deepEqual(
    changes.map((c) => [c.operation, c.name, c.object.spec]),
    [
      ['update', 'openssl', { name: 'openssl', state: 'present', version: '3.0.15-1' }],
      ['create', 'libstdc-plus-plus6', { name: 'libstdc++6', state: 'present', version: '12.2.0-14+deb12u1' }],
    ],
  );
  assert.equal((p.spec as { reason: string }).reason, 'monthly patching');
  const only = await call('update_system_packages', { packages: ['nginx'] });
  assert.equal(errorOf(only).code, 'NOT_FOUND');
  assert.match(errorOf(only).message, /not upgradable \(or not installed\): nginx/);
});

test('update_system_packages with nothing upgradable proposes nothing', async (t) => {
  const { h, call } = await packages(t, { ...SNAP, packages: [] });
  const r = await call('update_system_packages');
  assert.equal(errorOf(r).code, 'NO_CHANGE');
  assert.equal(h.proposals.items.size, 0);
});

test('install_package proposes a Package and refuses invalid names and versions', async (t) => {
  const { h, call } = await packages(t, SNAP);
  const r = await call('install_package', { name: 'htop', version: '3.2.2-2' });
  assert.ok(!r.isError, JSON.stringify(r.content));
  const p = [...h.proposals.items.values()][0]!;
  assert.deepEqual((p.spec as { changes: Array<{ object: { spec: unknown } }> }).changes[0]!.object.spec, { name: 'htop', state: 'present', version: '3.2.2-2' });
  const badName = await call('install_package', { name: '-oops' });
  assert.equal(errorOf(badName).code, 'INVALID_ARGUMENTS');
  const badVersion = await call('install_package', { name: 'htop', version: '1.0; rm -rf /' });
  assert.equal(errorOf(badVersion).code, 'PACKAGE_INVALID');
  const reader = await connect(t, h, principal('reader', ['readonly'], 'tok2'));
  const denied = await reader.callTool({ name: 'install_package', arguments: { name: 'htop' } });
  assert.equal(errorOf(denied).code, 'FORBIDDEN_SCOPE');
  assert.equal(packageResourceName('g++'), 'g-plus-plus');
});
