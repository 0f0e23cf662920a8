// Benchmark (issue 4, HealthProbe controller): N HealthProbes at a 1 s interval against one local
// HTTP server, through the real ResourceStore (with a state directory, so status writes are
// persisted) and ControllerManager. Reports the achieved probe rate against the ideal, scheduling
// lag (actual start − due time), status writes, the process's CPU and RSS. For comparison it first
// runs the same probes from plain per-probe timers (the floor any dedicated scheduler could reach
// on this event loop). Prints a table; asserts nothing.
//   node --import tsx test/bench/probes.bench.ts
// Env: PROBE_BENCH_COUNT (200), PROBE_BENCH_SECONDS (20), PROBE_BENCH_CONCURRENCY (16),
//      PROBE_BENCH_REFRESH_MS (status refresh, default 60000; 0 writes every probe).

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProbeController, probeHttp, type ProbeReport } from '../../controllers/probe/index.ts';
import { ControllerManager } from '../../controllers/runtime/index.ts';
import { API_VERSION } from '../../resources/kinds.ts';
import { silentLogger } from '../../resources/log.ts';
import { ResourceStore } from '../../resources/store.ts';

const COUNT = Number(process.env.PROBE_BENCH_COUNT ?? 200);
const SECONDS = Number(process.env.PROBE_BENCH_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.PROBE_BENCH_CONCURRENCY ?? 16);
const REFRESH_MS = process.env.PROBE_BENCH_REFRESH_MS !== undefined ? Number(process.env.PROBE_BENCH_REFRESH_MS) : undefined;
const INTERVAL_MS = 1000;
// The first interval is warm-up: every probe starts at once, so its lag measures the start burst.
const WARMUP_MS = 2 * INTERVAL_MS;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Measured {
  name: string;
  probes: number;
  seconds: number;
  lags: number[];
  latencies: number[];
  failures: number;
  cpuPercent: number;
  rssMiB: number;
  writes?: number;
}

function row(m: Measured): string[] {
  const lags = [...m.lags].sort((a, b) => a - b);
  const lat = [...m.latencies].sort((a, b) => a - b);
  const rate = m.probes / m.seconds;
  return [
    m.name,
    String(m.probes),
    `${rate.toFixed(1)}/s (${((rate / (COUNT * (1000 / INTERVAL_MS))) * 100).toFixed(1)}%)`,
    `${percentile(lags, 50).toFixed(2)} / ${percentile(lags, 99).toFixed(2)} / ${(lags.at(-1) ?? NaN).toFixed(2)}`,
    `${(percentile(lat, 50) * 1000).toFixed(2)} / ${(percentile(lat, 99) * 1000).toFixed(2)}`,
    String(m.failures),
    m.writes === undefined ? '-' : `${m.writes} (${(m.writes / m.seconds).toFixed(1)}/s)`,
    `${m.cpuPercent.toFixed(1)}%`,
    m.rssMiB.toFixed(0),
  ];
}

/** measureWindow runs `start`, discards the warm-up, and measures CPU and RSS over the rest. */
async function measureWindow(start: () => void, stop: () => Promise<void>): Promise<{ seconds: number; cpuPercent: number; rssMiB: number; from: number; to: number }> {
  start();
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const cpu0 = process.cpuUsage();
  const from = performance.now();
  let rss = process.memoryUsage().rss;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 250);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const to = performance.now();
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  await stop();
  const seconds = (to - from) / 1000;
  return { seconds, cpuPercent: ((cpu.user + cpu.system) / 1000 / (to - from)) * 100, rssMiB: rss / 1024 / 1024, from, to };
}

async function baseline(url: string): Promise<Measured> {
  // Per-probe fixed-rate timers calling the same http probe with no queue: the lag floor.
  const samples: Array<{ at: number; lag: number; latency: number; ok: boolean }> = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const loop = (due: number) => {
    const t = setTimeout(async () => {
      timers.delete(t);
      if (stopped) return;
      const started = performance.now();
      const outcome = await probeHttp({ url }, { signal: AbortSignal.timeout(5000), timeoutMs: 5000, store: undefined as never });
      samples.push({ at: started, lag: started - due, latency: (performance.now() - started) / 1000, ok: outcome.success });
      const finished = performance.now();
      loop(due + INTERVAL_MS * Math.max(1, Math.ceil((finished - due) / INTERVAL_MS)));
    }, Math.max(0, due - performance.now()));
    timers.add(t);
  };
  const w = await measureWindow(
    () => {
      const now = performance.now();
      for (let i = 0; i < COUNT; i++) loop(now + (i * INTERVAL_MS) / COUNT);
    },
    async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await new Promise((r) => setTimeout(r, 200));
    },
  );
  const inWindow = samples.filter((s) => s.at >= w.from && s.at < w.to);
  return {
    name: 'plain timers (floor)',
    probes: inWindow.length,
    seconds: w.seconds,
    lags: inWindow.map((s) => s.lag),
    latencies: inWindow.map((s) => s.latency),
    failures: inWindow.filter((s) => !s.ok).length,
    cpuPercent: w.cpuPercent,
    rssMiB: w.rssMiB,
  };
}

async function controller(url: string): Promise<Measured> {
  const stateDir = await mkdtemp(join(tmpdir(), 'sm-probe-bench-'));
  const store = await ResourceStore.open({ stateDir });
  const manager = new ControllerManager({ store, logger: silentLogger });
  const reports: Array<ProbeReport & { at: number }> = [];
  createProbeController(manager, {
    store,
    concurrency: CONCURRENCY,
    ...(REFRESH_MS !== undefined ? { statusRefreshMs: REFRESH_MS } : {}),
    onResult: (r) => reports.push({ ...r, at: performance.now() - r.latencySeconds * 1000 }),
  });
  let writes = 0;
  let counting = false;
  store.watch((e) => {
    if (counting && e.statusChanged) writes += 1;
  });
  const w = await measureWindow(
    () => {
      for (let i = 0; i < COUNT; i++) {
        store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name: `p${i}` }, spec: { http: { url: `${url}/p${i}` }, interval: `${INTERVAL_MS}ms` } });
      }
      manager.start();
      setTimeout(() => (counting = true), WARMUP_MS);
    },
    async () => {
      counting = false;
      await manager.stop();
      await store.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  );
  const inWindow = reports.filter((r) => r.at >= w.from && r.at < w.to);
  return {
    name: `controller (${CONCURRENCY} workers)`,
    probes: inWindow.length,
    seconds: w.seconds,
    lags: inWindow.map((r) => r.lagMs),
    latencies: inWindow.map((r) => r.latencySeconds),
    failures: inWindow.filter((r) => !r.success).length,
    cpuPercent: w.cpuPercent,
    rssMiB: w.rssMiB,
    writes,
  };
}

const server = createServer((_req, res) => res.end('ok'));
server.maxConnections = 10_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

console.log(`${COUNT} HealthProbes (http, fresh connection each) at ${INTERVAL_MS} ms against one loopback server; ${SECONDS} s measured after ${WARMUP_MS / 1000} s warm-up; node ${process.version}, server in the same process`);
const results = [await baseline(url), await controller(url)];
server.closeAllConnections();
server.close();

const head = ['run', 'probes', 'rate (of ideal)', 'lag ms p50 / p99 / max', 'latency ms p50 / p99', 'failed', 'status writes', 'CPU', 'RSS MiB'];
const rows = [head, ...results.map(row)];
const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
