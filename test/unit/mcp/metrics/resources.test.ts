import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { MetricsRegistry, registerResourceMetrics } from '../../../../mcp/metrics/index.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { find, parseExposition, valueOf } from './exposition.ts';

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

test('conditions are exported like gotk_reconcile_condition: 1 on the current status, 0 on the other two', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: 'web' }, spec: { image: 'x:1' } });
  store.updateStatus('Container', 'web', {
    observedGeneration: 1,
    conditions: [{ type: 'Ready', status: 'False', reason: 'DockerUnavailable', message: 'no engine', lastTransitionTime: new Date().toISOString() }],
  });
  const registry = new Registry();
  registerResourceMetrics(registry, store);
  const s = await scrape(registry);
  const labels = { kind: 'Container', name: 'web', type: 'Ready' };
  assert.equal(valueOf(s, 'systemmanager_resource_condition', { ...labels, status: 'False' }), 1);
  assert.equal(valueOf(s, 'systemmanager_resource_condition', { ...labels, status: 'True' }), 0);
  assert.equal(valueOf(s, 'systemmanager_resource_condition', { ...labels, status: 'Unknown' }), 0);
  assert.equal(valueOf(s, 'systemmanager_resource_info', { kind: 'Container', name: 'web' }), 1);
  assert.equal(valueOf(s, 'systemmanager_resource_generation', { kind: 'Container', name: 'web' }), 1);
  assert.equal(valueOf(s, 'systemmanager_resource_observed_generation', { kind: 'Container', name: 'web' }), 1);
  assert.equal(valueOf(s, 'systemmanager_resource_suspended', { kind: 'Container', name: 'web' }), 0);
});

test('suspend shows, and a deleted resource disappears from the next scrape', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'curl' }, spec: { name: 'curl', suspend: true } });
  store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'jq' }, spec: { name: 'jq' } });
  store.updateStatus('Package', 'curl', { conditions: [{ type: 'Ready', status: 'True', reason: 'Suspended', lastTransitionTime: new Date().toISOString() }] });
  const registry = new Registry();
  registerResourceMetrics(registry, store);
  let s = await scrape(registry);
  assert.equal(valueOf(s, 'systemmanager_resource_suspended', { kind: 'Package', name: 'curl' }), 1);
  assert.equal(valueOf(s, 'systemmanager_resource_suspended', { kind: 'Package', name: 'jq' }), 0);

  store.delete('Package', 'curl');
  s = await scrape(registry);
  assert.deepEqual(find(s, 'systemmanager_resource_condition', { name: 'curl' }), []);
  assert.deepEqual(find(s, 'systemmanager_resource_info', { name: 'curl' }), []);
  assert.deepEqual(find(s, 'systemmanager_resource_suspended', { name: 'curl' }), []);
  assert.equal(find(s, 'systemmanager_resource_info', { name: 'jq' }).length, 1);
});

test('AccessTokens and Proposals are not suspendable, so they get no suspended series', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'AccessToken', metadata: { name: 'ci' }, spec: { id: 'abc', agent: 'ci', scopes: ['readonly'], tokenHash: 'x' } });
  const registry = new Registry();
  registerResourceMetrics(registry, store);
  const s = await scrape(registry);
  assert.deepEqual(find(s, 'systemmanager_resource_suspended', { name: 'ci' }), []);
  assert.equal(find(s, 'systemmanager_resource_info', { name: 'ci' }).length, 1);
});

test('MetricsRegistry renders store gauges exactly as a plain prom-client Registry does, escaping included', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: 'web' }, spec: { image: 'x:1' } });
  store.updateStatus('Container', 'web', { conditions: [{ type: 'Weird"Type\\with\nnewline', status: 'True', reason: 'R', lastTransitionTime: new Date().toISOString() }] });
  const plain = new Registry();
  const fast = new MetricsRegistry();
  registerResourceMetrics(plain, store);
  registerResourceMetrics(fast, store);
  const text = await fast.metrics();
  assert.equal(text, await plain.metrics());
  assert.ok(text.includes('type="Weird\\"Type\\\\with\\nnewline"'), text);
});
