// MCP benchmarks (print a table, assert nothing):
// 1. in-process latency of get_system_status and get_container_list over InMemoryTransport;
// 2. calls per second over Streamable HTTP with 10 concurrent SDK clients (in a separate process, as real
//    clients are: mcp-load-client.ts) against a real Agent;
// 3. o200k tokens of compact JSON vs TOON for list-shaped results.
// Run: node --import tsx test/bench/mcp.bench.ts

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@toon-format/toon';
import { encode as tokens } from 'gpt-tokenizer/encoding/o200k_base';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { API_VERSION } from '../../resources/kinds.ts';
import { expandScopes } from '../../resources/scopes.ts';
import { ResourceStore } from '../../resources/store.ts';
import type { DesiredResource } from '../../resources/types.ts';
import { CachedHostReader, SystemHostReader, type ConnectionInfo } from '../../controllers/host/index.ts';
import { mintToken } from '../../controllers/token/index.ts';
import { Agent } from '../../mcp/agent.ts';
import { createDockerInventory, createMcpServer, createToolRegistry } from '../../mcp/server/index.ts';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function inProcess(): Promise<Array<Record<string, string | number>>> {
  const store = await ResourceStore.open();
  store.upsert({ apiVersion: API_VERSION, kind: 'Host', metadata: { name: 'bench' }, spec: {} });
  store.updateStatus('Host', 'bench', { hostname: 'bench', uptimeSeconds: 1, observedAt: new Date().toISOString() });
  for (let i = 0; i < 20; i++) {
    store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: `c${i}` }, spec: { image: 'systemmanager-test/busybox:1' } });
    store.updateStatus('Container', `c${i}`, { state: 'running', containerID: `${i}`.padStart(64, 'a') });
  }
  store.setSourceState({ synced: true, empty: false, pruneAllowed: true });
  const services = { store, hostName: 'bench', hostReader: new CachedHostReader(new SystemHostReader()), docker: createDockerInventory(process.env.DOCKER_SOCKET ?? '/var/run/docker.sock'), version: 'bench', startedAt: new Date() };
  const registry = createToolRegistry(services);
  const session = createMcpServer({ registry, services, principal: { identity: { agent: 'bench' }, scopes: expandScopes(['admin']) } });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await session.server.connect(b);
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(a);
  await client.listTools();
  const rows: Array<Record<string, string | number>> = [];
  for (const name of ['get_system_status', 'get_container_list']) {
    for (let i = 0; i < 50; i++) await client.callTool({ name, arguments: {} });
    const times: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      await client.callTool({ name, arguments: {} });
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    rows.push({ benchmark: `in-process ${name}`, calls: times.length, 'p50 ms': +pct(times, 50).toFixed(3), 'p99 ms': +pct(times, 99).toFixed(3) });
  }
  await client.close();
  await session.close();
  await store.close();
  return rows;
}

async function overHttp(): Promise<Record<string, string | number>> {
  const dirs = [await mkdtemp(join(tmpdir(), 'sm-bench-')), await mkdtemp(join(tmpdir(), 'sm-bench-'))];
  const agent = await Agent.start({ manifestsDir: dirs[0]!, stateDir: dirs[1]!, listen: { host: '127.0.0.1', port: 0 }, hostName: 'bench', hostIntervalMs: 60_000, rateLimitPerMinute: 1_000_000 });
  const tokens: string[] = [];
  for (let i = 0; i < 10; i++) {
    const m = mintToken({ agent: `bench-${i}`, scopes: ['readonly'] });
    agent.store.upsert(m.resource as DesiredResource);
    tokens.push(m.token);
  }
  // The clients run in their own process, as real MCP clients do, so the figure is the server's
  // throughput rather than the server and ten SDK clients sharing one event loop.
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./mcp-load-client.ts', import.meta.url)), `${agent.url}/mcp`, '5000', 'get_system_status', ...tokens]);
  const { ok, errors, seconds } = JSON.parse(stdout) as { ok: number; errors: number; seconds: number };
  await agent.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  return { benchmark: 'Streamable HTTP, 10 clients, get_system_status', calls: ok, errors, 'calls/s': Math.round(ok / seconds) };
}

async function tokenSavings(): Promise<Array<Record<string, string | number>>> {
  const reader = new SystemHostReader();
  const processes = (await reader.processes()).sort((a, b) => b.cpuPercent - a.cpuPercent).slice(0, 50).map((p) => ({ pid: p.pid, name: p.name, user: p.user, cpuPercent: p.cpuPercent, memoryPercent: p.memoryPercent, memoryRssBytes: p.memoryRssBytes, state: p.state, command: p.command.slice(0, 200) }));
  // get_container_list rows as the tool writes them (uniform fields; empty where not applicable).
  const containers = Array.from({ length: 40 }, (_, i) => {
    const managed = i % 3 !== 0;
    const running = i % 7 !== 0;
    return { name: `service-${i}`, managed, image: `registry.local/app-${i % 5}:1.${i}`, state: running ? 'running' : 'exited', desiredState: managed ? 'running' : '', ready: managed ? (running ? 'True' : 'False') : '', id: `${(i * 7919).toString(16)}`.padStart(12, '0'), status: running ? `Up ${i + 2} hours` : 'Exited (1) 3 minutes ago' };
  });
  // get_active_connections rows: uniform fields (a connection without a known process gets pid 0), at most 200 as a tool would return.
  let connections: ConnectionInfo[] = (await reader.connections()).slice(0, 200).map((c) => ({ protocol: c.protocol, localAddress: c.localAddress, localPort: c.localPort, peerAddress: c.peerAddress, peerPort: c.peerPort, state: c.state, pid: c.pid ?? 0, process: c.process ?? '' }));
  if (connections.length < 20) {
    connections = Array.from({ length: 60 }, (_, i) => ({ protocol: i % 4 ? 'tcp' : 'udp', localAddress: '127.0.0.1', localPort: 8000 + i, peerAddress: i % 2 ? '127.0.0.1' : '0.0.0.0', peerPort: i % 2 ? 40000 + i : 0, state: i % 2 ? 'ESTABLISHED' : 'LISTEN', pid: 1000 + i, process: `svc${i % 6}` }));
  }
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['get_top_processes (50)', { sortBy: 'cpu', total: 999, processes }],
    ['get_container_list (40)', { dockerAvailable: true, containers }],
    [`get_active_connections-shaped (${connections.length})`, { connections }],
  ];
  return shapes.map(([name, data]) => {
    const json = tokens(JSON.stringify(data)).length;
    const toon = tokens(encode(data)).length;
    return { benchmark: `tokens ${name}`, 'json tokens': json, 'toon tokens': toon, saving: `${(((json - toon) / json) * 100).toFixed(1)} %` };
  });
}

const rows = [...(await inProcess()), await overHttp(), ...(await tokenSavings())];
console.table(rows);
