// Benchmark (issue: resource API): load and validate 5,000 resources over 500 files, and the latency
// from a file write to the store's watch event. Prints a table; asserts nothing.
//   node --import tsx test/bench/manifests.bench.ts

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ResourceStore } from '../../resources/store.ts';
import { ManifestSource } from '../../resources/source.ts';
import { validatePaths } from '../../resources/manifests.ts';
import { schemaRegistry } from '../../resources/validation.ts';

const FILES = Number(process.env.BENCH_FILES ?? 500);
const PER_FILE = Number(process.env.BENCH_PER_FILE ?? 10);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50);

function container(name: string, port: number, image = 'systemmanager-test/busybox:1'): string {
  return `apiVersion: systemmanager.io/v1alpha1
kind: Container
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
    tier: bench
spec:
  image: ${image}
  command: ["sh", "-c", "httpd -f -p 127.0.0.1:${port}"]
  network: host
  restartPolicy: unless-stopped
  env:
    - name: PORT
      value: "${port}"
  ports:
    - containerPort: ${port}
      hostPort: ${port}
      hostIP: 127.0.0.1
  resources:
    memory: 64Mi
    cpus: 0.5
`;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const dir = await mkdtemp(join(tmpdir(), 'sm-bench-manifests-'));
try {
  for (let f = 0; f < FILES; f++) {
    const sub = join(dir, `team-${f % 10}`);
    await mkdir(sub, { recursive: true });
    const docs: string[] = [];
    for (let i = 0; i < PER_FILE; i++) docs.push(container(`c-${f}-${i}`, 10000 + ((f * PER_FILE + i) % 50000)));
    await writeFile(join(sub, `file-${f}.yaml`), docs.join('---\n'));
  }
  const total = FILES * PER_FILE;
  const rows: Array<[string, string]> = [];

  let t0 = performance.now();
  schemaRegistry();
  rows.push(['compile schemas (once per process)', `${(performance.now() - t0).toFixed(0)} ms`]);

  t0 = performance.now();
  const report = await validatePaths([dir]);
  const validateMs = performance.now() - t0;
  if (report.errors.length || report.resources !== total) throw new Error(`unexpected: ${report.errors.length} errors, ${report.resources} resources`);
  rows.push([`validate ${total} resources in ${FILES} files (systemmanager validate)`, `${validateMs.toFixed(0)} ms (target < 2000 ms)`]);

  const store = await ResourceStore.open();
  const source = new ManifestSource(store, { dir, watch: false });
  t0 = performance.now();
  await source.start();
  const loadMs = performance.now() - t0;
  if (store.size !== total) throw new Error(`store holds ${store.size}, expected ${total}`);
  rows.push([`load + validate + apply ${total} resources to the store`, `${loadMs.toFixed(0)} ms (target < 2000 ms)`]);
  await source.stop();

  // Latency from a file write to the store's watch event, with the watcher on.
  const watched = await ResourceStore.open();
  const live = new ManifestSource(watched, { dir });
  t0 = performance.now();
  await live.start();
  rows.push([`start a watching source on the same tree`, `${(performance.now() - t0).toFixed(0)} ms`]);
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const name = `c-0-0`;
    const image = `systemmanager-test/busybox:${i + 2}`;
    const seen = new Promise<number>((resolve) => {
      const stop = watched.watch((e) => {
        if (e.name === name && e.object.spec.image === image) {
          stop();
          resolve(performance.now());
        }
      });
    });
    const start = performance.now();
    const docs: string[] = [container(name, 10000, image)];
    for (let j = 1; j < PER_FILE; j++) docs.push(container(`c-0-${j}`, 10000 + j));
    await writeFile(join(dir, 'team-0', 'file-0.yaml'), docs.join('---\n'));
    latencies.push((await seen) - start);
    await new Promise((r) => setTimeout(r, 20));
  }
  await live.stop();
  rows.push([`file write -> watch event, p50 (${SAMPLES} samples)`, `${pct(latencies, 50).toFixed(1)} ms (target < 100 ms)`]);
  rows.push([`file write -> watch event, p99`, `${pct(latencies, 99).toFixed(1)} ms`]);
  rows.push([`file write -> watch event, max`, `${Math.max(...latencies).toFixed(1)} ms`]);

  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nmanifests benchmark (${process.version}, ${(await import('node:os')).cpus().length} cores)`);
  console.log(`${'measure'.padEnd(width)} | result`);
  console.log(`${'-'.repeat(width)}-|-------`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)} | ${v}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
