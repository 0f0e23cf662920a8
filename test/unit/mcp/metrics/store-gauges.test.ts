import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { registerManifestMetrics, registerPackageMetrics, registerProbeMetrics, registerProposalMetrics, registerTokenMetrics } from '../../../../mcp/metrics/index.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { find, parseExposition, valueOf } from './exposition.ts';

test('probes export success and duration like the blackbox exporter; a probe never run has no series', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name: 'api' }, spec: { http: { url: 'http://127.0.0.1/' } } });
  store.updateStatus('HealthProbe', 'api', { success: false, latencySeconds: 0.125, consecutiveFailures: 4, lastProbeTime: '2030-01-01T00:00:00Z' });
  store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name: 'new' }, spec: { tcp: { host: '127.0.0.1', port: 1 } } });
  const registry = new Registry();
  registerProbeMetrics(registry, store);
  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_probe_success', { name: 'api', type: 'http' }), 0);
  assert.equal(valueOf(s, 'systemmanager_probe_duration_seconds', { name: 'api' }), 0.125);
  assert.equal(valueOf(s, 'systemmanager_probe_consecutive_failures', { name: 'api' }), 4);
  assert.equal(valueOf(s, 'systemmanager_probe_last_run_timestamp_seconds', { name: 'api' }), Date.parse('2030-01-01T00:00:00Z') / 1000);
  assert.deepEqual(find(s, 'systemmanager_probe_success', { name: 'new' }), []);
});

test('packages export installed and upgradable; a version that is not a Debian version stays out of the labels', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'curl' }, spec: { name: 'curl' } });
  store.updateStatus('Package', 'curl', { installedVersion: '7.88.1-10+deb12u5', candidateVersion: '7.88.1-10+deb12u6', upgradable: true });
  store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'odd' }, spec: { name: 'odd' } });
  store.updateStatus('Package', 'odd', { installedVersion: 'x"} 1\nevil 2', upgradable: false });
  const registry = new Registry();
  registerPackageMetrics(registry, store);
  const text = await registry.metrics();
  const s = parseExposition(text);
  assert.equal(valueOf(s, 'systemmanager_package_installed', { name: 'curl' }), 1);
  assert.equal(valueOf(s, 'systemmanager_package_upgradable', { name: 'curl' }), 1);
  assert.equal(valueOf(s, 'systemmanager_package_info', { name: 'curl', installed_version: '7.88.1-10+deb12u5' }), 1);
  assert.equal(valueOf(s, 'systemmanager_package_info', { name: 'odd', installed_version: '' }), 1);
  assert.ok(!text.includes('evil'), 'no injected sample');
});

test('every proposal phase is exported, counted from the store', async () => {
  const store = await ResourceStore.open();
  for (const [name, phase] of [['p1', 'Pending'], ['p2', 'Pending'], ['p3', 'Applied'], ['p4', 'Bogus']] as const) {
    store.upsert({ apiVersion: API_VERSION, kind: 'Proposal', metadata: { name }, spec: { changes: [] } });
    store.updateStatus('Proposal', name, { phase });
  }
  const registry = new Registry();
  registerProposalMetrics(registry, store);
  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_proposals', { phase: 'Pending' }), 2);
  assert.equal(valueOf(s, 'systemmanager_proposals', { phase: 'Applied' }), 1);
  assert.equal(valueOf(s, 'systemmanager_proposals', { phase: 'Stale' }), 0);
  assert.equal(find(s, 'systemmanager_proposals').length, 7, 'an unknown phase is not a label value');
});

test('token expiry is a timestamp per AccessToken; tokens without expiresAt have none', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'AccessToken', metadata: { name: 'ci' }, spec: { id: 'a1', agent: 'ci-bot', scopes: ['readonly'], tokenHash: 'h', expiresAt: '2031-02-03T04:05:06Z' } });
  store.upsert({ apiVersion: API_VERSION, kind: 'AccessToken', metadata: { name: 'forever' }, spec: { id: 'a2', agent: 'ops', scopes: ['admin'], tokenHash: 'h', revoked: true } });
  const registry = new Registry();
  registerTokenMetrics(registry, store);
  const text = await registry.metrics();
  const s = parseExposition(text);
  assert.equal(valueOf(s, 'systemmanager_token_expiry_timestamp_seconds', { name: 'ci', agent: 'ci-bot' }), Date.parse('2031-02-03T04:05:06Z') / 1000);
  assert.deepEqual(find(s, 'systemmanager_token_expiry_timestamp_seconds', { name: 'forever' }), []);
  assert.equal(valueOf(s, 'systemmanager_token_revoked', { name: 'forever' }), 1);
  assert.ok(!text.includes('a1') && !text.includes('tokenHash'), 'no token id or hash in the output');
});

test('manifest files are split into valid and invalid from the source snapshot', async () => {
  const registry = new Registry();
  registerManifestMetrics(registry, { snapshot: () => ({ files: 5, resources: 9, invalidFiles: 2, errors: [{}, {}, {}] as never }) });
  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_manifest_files', { state: 'valid' }), 3);
  assert.equal(valueOf(s, 'systemmanager_manifest_files', { state: 'invalid' }), 2);
  assert.equal(valueOf(s, 'systemmanager_manifest_errors'), 3);
  assert.equal(valueOf(s, 'systemmanager_manifest_resources'), 9);
});
