// Benchmark (issue 8): what one scrape of /metrics costs with 100 Containers and 200 HealthProbes in
// the store (realistic status, no real containers), side by side with Debian's node_exporter scraped
// on the same machine in the same run. Prints a table; asserts nothing.
//   node --import tsx test/bench/metrics.bench.ts
// BENCH_SCRAPES changes the number of scrapes per target (default 300).

import { createServer } from 'node:http';
import { Agent as HttpAgent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { createAgentMetrics, metricsHandler } from '../../mcp/metrics/index.ts';
import { API_VERSION } from '../../resources/kinds.ts';
import { ResourceStore } from '../../resources/store.ts';
import { commandAvailable } from '../support/parts.ts';
import { startNodeExporter } from '../support/prometheus.ts';

const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 300);
const now = new Date().toISOString();
const ready = (status: 'True' | 'False', reason: string) => [{ type: 'Ready', status, reason, message: reason, lastTransitionTime: now, observedGeneration: 1 }];

const store = await ResourceStore.open();
store.upsert({ apiVersion: API_VERSION, kind: 'Host', metadata: { name: 'bench' }, spec: {} });
store.updateStatus('Host', 'bench', {
  cpu: { cores: 8, usageRatio: 0.3 },
  memory: { totalBytes: 32e9, availableBytes: 20e9, usedBytes: 12e9 },
  load: { one: 1, five: 1, fifteen: 1 },
  bootTime: now,
  observedAt: now,
  filesystems: [{ mountpoint: '/', sizeBytes: 1e11, usedBytes: 4e10, availableBytes: 6e10 }, { mountpoint: '/var/lib/docker', sizeBytes: 1e12, usedBytes: 1e11, availableBytes: 9e11 }],
  docker: { available: true },
  conditions: ready('True', 'Observed'),
});
const usage = new Map<string, { containerID: string; cpuSeconds: number; memoryBytes: number }>();
for (let i = 0; i < 100; i++) {
  const name = `app-${i}`;
  const id = i.toString(16).padStart(64, '0');
  store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name }, spec: { image: `registry.example/app-${i % 10}:1.${i}` } });
  store.updateStatus('Container', name, { observedGeneration: 1, containerID: id, state: i % 10 ? 'running' : 'exited', health: 'healthy', restartCount: i % 3, conditions: ready(i % 10 ? 'True' : 'False', i % 10 ? 'Running' : 'Exited') });
  usage.set(name, { containerID: id, cpuSeconds: i * 1.5, memoryBytes: 1e6 * i });
}
for (let i = 0; i < 200; i++) {
  const name = `probe-${i}`;
  store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name }, spec: { http: { url: `http://127.0.0.1:${8000 + i}/healthz` } } });
  store.updateStatus('HealthProbe', name, { observedGeneration: 1, success: i % 7 !== 0, latencySeconds: 0.01 + i / 1e4, consecutiveFailures: i % 7 ? 0 : 2, lastProbeTime: now, conditions: ready(i % 7 ? 'True' : 'False', 'Probed') });
}

const metrics = createAgentMetrics({
  store,
  source: { snapshot: () => ({ files: 300, resources: 300, invalidFiles: 0, errors: [] }) },
  hostName: 'bench',
  version: '0.1.0',
  networkCounters: async () => [
    { interface: 'lo', rxBytes: 1e9, txBytes: 1e9, rxPackets: 0, txPackets: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 },
    { interface: 'eth0', rxBytes: 5e9, txBytes: 2e9, rxPackets: 0, txPackets: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 },
  ],
  containerStats: { read: async (id) => ({ cpuSeconds: usage.get(`app-${parseInt(id, 16)}`)?.cpuSeconds ?? 0, memoryBytes: 1e6 }) },
});
await metrics.network.refresh();
await metrics.containerStats.refresh();
// Controllers and tools as a running agent would have declared them.
for (const c of ['container', 'image', 'package', 'probe', 'host', 'token', 'outputpreference', 'proposal']) metrics.controllers.workQueue(c);
metrics.tools.declare(['get_system_status', 'get_top_processes', 'get_network_status', 'get_network_io_counters', 'health_check', 'get_container_list', 'list_docker_images', 'get_docker_networks', 'manage_container', 'update_docker_container', 'pull_docker_image', 'analyze_container_logs', 'file_operations', 'ping_host', 'test_port_connectivity', 'dns_lookup', 'check_ssl_certificate', 'traceroute', 'http_request_test', 'get_active_connections', 'check_system_updates', 'update_system_packages', 'install_package', 'list_resources', 'get_resource', 'describe_resource', 'propose_change', 'list_proposals', 'get_proposal', 'approve_proposal', 'reject_proposal']);

const app = express();
app.get('/metrics', metricsHandler(metrics.registry));
const server = createServer(app);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const ours = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: keepAlive }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

async function measure(label: string, url: string) {
  for (let i = 0; i < 20; i++) await get(url); // warm up
  const ms: number[] = [];
  let body = '';
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now();
    body = await get(url);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
  return { label, median: ms[Math.floor(ms.length / 2)]!, p99: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]!, series, bytes: Buffer.byteLength(body) };
}

const rows = [await measure('systemmanager (100 containers, 200 probes)', ours)];
if (commandAvailable('/usr/bin/prometheus-node-exporter')) {
  const ne = await startNodeExporter();
  try {
    rows.push(await measure('prometheus-node-exporter (Debian, defaults)', ne.url));
  } finally {
    await ne.stop();
  }
} else {
  console.log('prometheus-node-exporter is not installed: no reference row');
}
server.close();
keepAlive.destroy();
await metrics.stop();

console.log(`\n/metrics scrape, ${SCRAPES} sequential scrapes per target over loopback keep-alive HTTP\n`);
console.log('| target | median ms | p99 ms | series | bytes |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.label} | ${r.median.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.series} | ${r.bytes} |`);
