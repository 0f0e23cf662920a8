import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { BackgroundSampler, parseDockerStats, registerContainerMetrics, sampleContainerStats, type ContainerStatsReader, type ContainerUsage } from '../../../../mcp/metrics/index.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { find, parseExposition, valueOf } from './exposition.ts';

const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);

async function storeWith(): Promise<ResourceStore> {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: 'web' }, spec: { image: 'nginx:1' } });
  store.updateStatus('Container', 'web', { containerID: ID_A, state: 'running', health: 'healthy', restartCount: 3 });
  store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: 'db' }, spec: { image: 'pg:16' } });
  store.updateStatus('Container', 'db', { containerID: ID_B, state: 'exited', restartCount: 0 });
  return store;
}

test('container state is one series per state, 1 on the current one; restarts and image come from the store', async () => {
  const store = await storeWith();
  const registry = new Registry();
  registerContainerMetrics(registry, { store });
  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_container_state', { name: 'web', state: 'running' }), 1);
  assert.equal(valueOf(s, 'systemmanager_container_state', { name: 'web', state: 'exited' }), 0);
  assert.equal(valueOf(s, 'systemmanager_container_state', { name: 'db', state: 'exited' }), 1);
  assert.equal(find(s, 'systemmanager_container_state', { name: 'web' }).length, 8);
  assert.equal(valueOf(s, 'systemmanager_container_health', { name: 'web', health: 'healthy' }), 1);
  assert.equal(valueOf(s, 'systemmanager_container_restarts_total', { name: 'web' }), 3);
  assert.equal(valueOf(s, 'systemmanager_container_info', { name: 'db', image: 'pg:16' }), 1);
});

test('CPU and memory come only from the sampler cache, and never from a container that was recreated since', async () => {
  const store = await storeWith();
  const stats = { value: new Map<string, ContainerUsage>([['web', { containerID: ID_A, cpuSeconds: 12.5, memoryBytes: 4096 }], ['db', { containerID: ID_B, cpuSeconds: 1, memoryBytes: 1 }]]) };
  const registry = new Registry();
  registerContainerMetrics(registry, { store, stats });
  let s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_container_cpu_usage_seconds_total', { name: 'web' }), 12.5);
  assert.equal(valueOf(s, 'systemmanager_container_memory_usage_bytes', { name: 'web' }), 4096);
  assert.deepEqual(find(s, 'systemmanager_container_memory_usage_bytes', { name: 'db' }), [], 'a stopped container has no usage');

  store.updateStatus('Container', 'web', { containerID: 'c'.repeat(64), state: 'running', restartCount: 0 });
  s = parseExposition(await registry.metrics());
  assert.deepEqual(find(s, 'systemmanager_container_cpu_usage_seconds_total', { name: 'web' }), [], "the new container does not inherit the old one's counter");

  store.delete('Container', 'web');
  s = parseExposition(await registry.metrics());
  assert.deepEqual(find(s, 'systemmanager_container_state', { name: 'web' }), []);
});

test('parseDockerStats subtracts inactive page cache as docker stats does, for cgroup v1 and v2', () => {
  assert.deepEqual(parseDockerStats({ cpu_stats: { cpu_usage: { total_usage: 2_500_000_000 } }, memory_stats: { usage: 1000, stats: { inactive_file: 300 } } }), { cpuSeconds: 2.5, memoryBytes: 700 });
  assert.deepEqual(parseDockerStats({ cpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: { usage: 1000, stats: { total_inactive_file: 100 } } }), { cpuSeconds: 0, memoryBytes: 900 });
  assert.throws(() => parseDockerStats({ message: 'No such container' }), TypeError);
  assert.throws(() => parseDockerStats(null), TypeError);
});

test('sampleContainerStats asks only for running containers; one that fails keeps its last numbers', async () => {
  const store = await storeWith();
  store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: 'gone' }, spec: { image: 'x:1' } });
  store.updateStatus('Container', 'gone', { containerID: 'd'.repeat(64), state: 'running' });
  const asked: string[] = [];
  const reader: ContainerStatsReader = {
    async read(id) {
      asked.push(id);
      if (id === 'd'.repeat(64)) throw new Error('No such container');
      return { cpuSeconds: 1, memoryBytes: 2 };
    },
  };
  const previous = new Map<string, ContainerUsage>([['gone', { containerID: 'd'.repeat(64), cpuSeconds: 7, memoryBytes: 8 }]]);
  const out = await sampleContainerStats(store, reader, new AbortController().signal, previous);
  assert.deepEqual(asked.sort(), [ID_A, 'd'.repeat(64)].sort(), 'the exited container is not asked');
  assert.deepEqual(out.get('web'), { containerID: ID_A, cpuSeconds: 1, memoryBytes: 2 });
  assert.deepEqual(out.get('gone'), { containerID: 'd'.repeat(64), cpuSeconds: 7, memoryBytes: 8 }, 'a container that did not answer keeps its last numbers');
  const fresh = await sampleContainerStats(store, reader, new AbortController().signal);
  assert.equal(fresh.has('gone'), false, 'without previous numbers it is left out');
});

test('a failed sample keeps the previous values and counts as an error', async () => {
  let fail = false;
  const errors: string[] = [];
  const sampler = new BackgroundSampler<number>({
    name: 't',
    intervalMs: 60_000,
    sample: async () => {
      if (fail) throw new Error('engine down');
      return 42;
    },
    health: { sampled: () => {}, failed: (n) => errors.push(n) },
  });
  await sampler.refresh();
  fail = true;
  await sampler.refresh();
  assert.equal(sampler.value, 42);
  assert.deepEqual(errors, ['t']);
  await sampler.stop();
});
