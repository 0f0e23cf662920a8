// Benchmark (issue: container controller): how fast desired state becomes running containers, what
// it costs at rest, and how fast drift is repaired, against the real Docker engine. Prints tables;
// asserts nothing.
//   node --import tsx test/bench/container-converge.bench.ts
// Env: BENCH_RUNS (3) runs per converge row, BENCH_DRIFT_SAMPLES (10), BENCH_IDLE_CONTAINERS (100),
// BENCH_IDLE_SECONDS (60; e.g. 10 for a quick run), BENCH_SKIP_COMPOSE=1.
//
// Converge rows start at ResourceStore.upsert (the manifests directory's file-watch latency is
// measured separately by manifests.bench.ts) and end when every container's Ready=True is in the
// store. The dockerode rows are the floor: the same create+start calls with no controller.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { getCondition } from '../../controllers/runtime/index.ts';
import { LABEL_INSTANCE, LABEL_NAME } from '../../controllers/container/spec.ts';
import { FOREVER, newInstance, removeInstanceContainers, startRig, type ControllerRig } from '../support/docker-engine.ts';
import { TEST_IMAGE, commandAvailable, dockerAvailable, DOCKER_SOCKET } from '../support/parts.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DRIFT_SAMPLES = Number(process.env.BENCH_DRIFT_SAMPLES ?? 10);
const IDLE_CONTAINERS = Number(process.env.BENCH_IDLE_CONTAINERS ?? 100);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);

if (!(await dockerAvailable())) {
  console.log(`skipped: no Docker engine answers on ${DOCKER_SOCKET} (run scripts/start-dockerd.sh)`);
  process.exit(0);
}

const docker = new Docker({ socketPath: DOCKER_SOCKET, timeout: 60_000 });

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function table(title: string, head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${title}\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** allReady resolves when every name is Ready=True in the store. */
function allReady(rig: ControllerRig, names: string[]): Promise<void> {
  const pending = new Set(names);
  const check = () => {
    for (const n of [...pending]) if (getCondition(rig.store.get('Container', n)?.status, 'Ready')?.status === 'True') pending.delete(n);
    return pending.size === 0;
  };
  return new Promise((resolve) => {
    if (check()) return resolve();
    const stop = rig.store.watch((e) => {
      if (e.kind === 'Container' && e.statusChanged && check()) {
        stop();
        resolve();
      }
    });
  });
}

async function controllerConverge(n: number, concurrency: number): Promise<number> {
  const rig = await startRig(undefined, { controller: { concurrency } });
  try {
    const names = Array.from({ length: n }, (_, i) => rig.name(`c${i}`));
    const t0 = performance.now();
    for (const name of names) rig.apply(name, {});
    await allReady(rig, names);
    return performance.now() - t0;
  } finally {
    await rig.stop();
  }
}

async function dockerodeConverge(n: number, parallel: boolean): Promise<number> {
  const instance = newInstance('floor');
  try {
    const one = async (i: number) => {
      const c = await docker.createContainer({
        name: `${instance}-c${i}`,
        Image: TEST_IMAGE,
        Entrypoint: FOREVER,
        Labels: { [LABEL_INSTANCE]: instance },
        HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
      });
      await c.start();
    };
    const t0 = performance.now();
    if (parallel) await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
    else for (let i = 0; i < n; i++) await one(i);
    return performance.now() - t0;
  } finally {
    await removeInstanceContainers(instance);
  }
}

async function composeConverge(n: number): Promise<number> {
  const project = newInstance('compose').replace(/-/g, '');
  const dir = await mkdtemp(join(tmpdir(), 'sm-bench-compose-'));
  const file = join(dir, 'docker-compose.yml');
  const services = Array.from({ length: n }, (_, i) =>
    [
      `  c${i}:`,
      `    image: ${TEST_IMAGE}`,
      // Compose interpolates $: $$ is a literal dollar.
      `    entrypoint: ${JSON.stringify(FOREVER.map((w) => w.replace(/\$/g, '$$$$')))}`,
      '    network_mode: none',
      `    labels: { ${LABEL_INSTANCE}: ${project} }`,
    ].join('\n'),
  );
  await writeFile(file, `version: "2.4"\nservices:\n${services.join('\n')}\n`);
  const env = { ...process.env, COMPOSE_PROJECT_NAME: project };
  try {
    const t0 = performance.now();
    await run('docker-compose', ['-f', file, 'up', '-d', '--no-build'], { env });
    return performance.now() - t0;
  } finally {
    await run('docker-compose', ['-f', file, 'down', '-t', '1'], { env }).catch(() => {});
    await removeInstanceContainers(project);
    await rm(dir, { recursive: true, force: true });
  }
}

async function repeat(fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await fn());
  return out;
}

// --- converge -----------------------------------------------------------------------------------
const converge: string[][] = [];
for (const n of [1, 20]) {
  const rows: Array<[string, () => Promise<number>]> = [
    ['controller (concurrency 2, default)', () => controllerConverge(n, 2)],
    ['controller (concurrency 8)', () => controllerConverge(n, 8)],
    ['dockerode create+start, sequential (floor)', () => dockerodeConverge(n, false)],
    ['dockerode create+start, all parallel', () => dockerodeConverge(n, true)],
  ];
  if (process.env.BENCH_SKIP_COMPOSE !== '1' && commandAvailable('docker-compose')) rows.push(['docker-compose up -d', () => composeConverge(n)]);
  for (const [label, fn] of rows) {
    const samples = await repeat(fn);
    converge.push([String(n), label, fmt(median(samples)), fmt(Math.min(...samples)), fmt(Math.max(...samples))]);
    console.error(`converge n=${n} ${label}: ${samples.map(fmt).join(', ')}`);
  }
}
if (!commandAvailable('docker-compose')) console.log('\n(docker-compose not installed: its rows are left out; Debian package docker-compose)');
table(`Converge: upsert → all Ready (median of ${RUNS})`, ['containers', 'path', 'median', 'min', 'max'], converge);

// --- drift repair -------------------------------------------------------------------------------
{
  const rig = await startRig(undefined);
  try {
    const name = rig.name('drift');
    rig.apply(name, {});
    await allReady(rig, [name]);
    // Daemon timestamps of the events: from the container dying (or being destroyed) to it starting again.
    const ac = new AbortController();
    const stream = (await docker.getEvents({
      filters: JSON.stringify({ type: ['container'], label: [`${LABEL_NAME}=${name}`] }) as never,
      abortSignal: ac.signal,
    })) as unknown as NodeJS.ReadableStream;
    const seen: Array<{ action: string; t: number }> = [];
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) {
          const e = JSON.parse(line) as { Action: string; timeNano: number };
          seen.push({ action: e.Action, t: e.timeNano / 1e6 });
        }
      }
    });
    stream.on('error', () => {});
    const waitStart = async (after: number) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const s = seen.find((e) => e.action === 'start' && e.t > after);
        if (s) return s.t;
        if (Date.now() > deadline) throw new Error('no start event within 30 s');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const sample = async (action: 'stop' | 'rm') => {
      seen.length = 0;
      const c = (await docker.listContainers({ filters: JSON.stringify({ label: [`${LABEL_NAME}=${name}`], status: ['running'] }) }))[0]!;
      if (action === 'stop') await docker.getContainer(c.Id).stop({ t: 5 });
      else await docker.getContainer(c.Id).remove({ force: true });
      const cause = action === 'stop' ? 'die' : 'destroy';
      const deadline = Date.now() + 10_000;
      let from: number | undefined;
      while (!(from = seen.find((e) => e.action === cause)?.t)) {
        if (Date.now() > deadline) throw new Error(`no ${cause} event`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const to = await waitStart(from);
      await allReady(rig, [name]);
      // Let the controller settle (its own start event) before the next sample.
      await new Promise((r) => setTimeout(r, 300));
      return to - from;
    };
    const stops: number[] = [];
    const rms: number[] = [];
    for (let i = 0; i < DRIFT_SAMPLES; i++) stops.push(await sample('stop'));
    for (let i = 0; i < DRIFT_SAMPLES; i++) rms.push(await sample('rm'));
    ac.abort();
    table(`Drift repair: daemon event → container started again (${DRIFT_SAMPLES} samples each)`, ['drift', 'p50', 'p90', 'max'], [
      ['docker stop', fmt(pct(stops, 50)), fmt(pct(stops, 90)), fmt(Math.max(...stops))],
      ['docker rm -f', fmt(pct(rms, 50)), fmt(pct(rms, 90)), fmt(Math.max(...rms))],
    ]);
  } finally {
    await rig.stop();
  }
}

// --- idle cost ----------------------------------------------------------------------------------
{
  const rssBefore = process.memoryUsage().rss;
  const rig = await startRig(undefined, { controller: { concurrency: 8, resyncMs: 5 * 60_000 } });
  try {
    const names = Array.from({ length: IDLE_CONTAINERS }, (_, i) => rig.name(`idle${i}`));
    const t0 = performance.now();
    for (const n of names) rig.apply(n, {});
    await allReady(rig, names);
    const convergeMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 2000));
    global.gc?.();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    let rssMax = 0;
    const rssSamples: number[] = [];
    while (performance.now() - w0 < IDLE_SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      const rss = process.memoryUsage().rss;
      rssSamples.push(rss);
      rssMax = Math.max(rssMax, rss);
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - w0) / 1000;
    const cpuPct = ((cpu.user + cpu.system) / 1e6 / wall) * 100;
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
    table(`Idle cost: ${IDLE_CONTAINERS} converged containers, ${wall.toFixed(0)} s window (this process: store + manager + controllers + event stream)`, ['measure', 'value'], [
      [`converge ${IDLE_CONTAINERS} (concurrency 8)`, fmt(convergeMs)],
      ['CPU (user+system) / wall', `${cpuPct.toFixed(2)} %`],
      ['RSS before the controller started', mb(rssBefore)],
      ['RSS median / max during the window', `${mb(median(rssSamples))} / ${mb(rssMax)}`],
    ]);
    console.log('(the manager resync is 5 min by default, so a 60 s window sees no resync; the orphan scan is also every 5 min)');
  } finally {
    await rig.stop();
  }
}
