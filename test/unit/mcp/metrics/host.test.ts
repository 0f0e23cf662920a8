import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { registerHostMetrics } from '../../../../mcp/metrics/index.ts';
import type { NetworkCounters } from '../../../../controllers/host/index.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { find, parseExposition, valueOf } from './exposition.ts';

const snapshot = {
  hostname: 'box',
  cpu: { model: 'x', cores: 4, usageRatio: 0.25 },
  memory: { totalBytes: 8e9, availableBytes: 6e9, usedBytes: 2e9 },
  load: { one: 0.5, five: 0.25, fifteen: 0.125 },
  uptimeSeconds: 100,
  bootTime: '2030-01-01T00:00:00.000Z',
  filesystems: [{ mountpoint: '/', fsType: 'ext4', sizeBytes: 100, usedBytes: 40, availableBytes: 60 }],
  observedAt: '2030-01-01T00:01:40.000Z',
  docker: { available: false, message: 'down' },
};

function counters(name: string, rx: number, tx: number): NetworkCounters {
  return { interface: name, rxBytes: rx, txBytes: tx, rxPackets: 0, txPackets: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 };
}

test('host metrics come from the Host status and the network cache, in base units', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Host', metadata: { name: 'box' }, spec: {} });
  store.updateStatus('Host', 'box', snapshot);
  store.upsert({ apiVersion: API_VERSION, kind: 'Host', metadata: { name: 'other' }, spec: {} });
  store.updateStatus('Host', 'other', { ...snapshot, cpu: { cores: 64, usageRatio: 0.99 } });
  const registry = new Registry();
  const network = { value: [counters('eth0', 1000, 2000), counters('bad name{}"', 1, 1)] };
  registerHostMetrics(registry, { store, hostName: 'box', network });
  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_host_cpu_usage_ratio'), 0.25, "this host's Host, not another one");
  assert.equal(valueOf(s, 'systemmanager_host_cpu_cores'), 4);
  assert.equal(valueOf(s, 'systemmanager_host_memory_bytes', { state: 'used' }), 2e9);
  assert.equal(valueOf(s, 'systemmanager_host_load', { period: '15m' }), 0.125);
  assert.equal(valueOf(s, 'systemmanager_host_filesystem_bytes', { mountpoint: '/', state: 'available' }), 60);
  assert.equal(valueOf(s, 'systemmanager_host_boot_time_seconds'), Date.parse(snapshot.bootTime) / 1000);
  assert.equal(valueOf(s, 'systemmanager_host_docker_up'), 0);
  assert.equal(valueOf(s, 'systemmanager_host_network_bytes_total', { interface: 'eth0', direction: 'transmit' }), 2000);
  assert.equal(find(s, 'systemmanager_host_network_bytes_total').length, 2, 'an interface name that is not a plain word is left out');
});

test('without an observed Host there are no host series rather than zeros', async () => {
  const store = await ResourceStore.open();
  const registry = new Registry();
  registerHostMetrics(registry, { store, hostName: 'box' });
  const s = parseExposition(await registry.metrics());
  assert.deepEqual(s.filter((x) => x.name.startsWith('systemmanager_host_')), []);
});

test('a Host status with junk fields exports only what it can read', async () => {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Host', metadata: { name: 'box' }, spec: {} });
  store.updateStatus('Host', 'box', { cpu: { usageRatio: 'high' }, memory: null, load: [1, 2], filesystems: 'none', bootTime: 'yesterday', observedAt: 12 });
  const registry = new Registry();
  registerHostMetrics(registry, { store, hostName: 'box' });
  const s = parseExposition(await registry.metrics());
  assert.deepEqual(s.filter((x) => x.name.startsWith('systemmanager_host_')), []);
});
