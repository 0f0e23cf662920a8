// Benchmark (issue 4: package controller): what one Package costs on a resync (observe, no change),
// a simulated upgrade listing over this machine's real package index (read-only, no lock, no
// network), and install/remove through apt-get and dpkg in a private dpkg root. Prints a table;
// asserts nothing.
//   node --import tsx test/bench/package.bench.ts

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { API_VERSION } from '../../resources/kinds.ts';
import { ResourceStore } from '../../resources/store.ts';
import { compareDebianVersions, createAptBackend, PackageIndex, PackageReconciler, parsePolicy } from '../../controllers/package/index.ts';
import { aptAvailable, createAptRepoIn, createDpkgSandbox } from '../support/apt-repo.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20);
const rows: { case: string; n: number; median_ms: string; p95_ms: string }[] = [];

async function measure(name: string, n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  rows.push({ case: name, n, median_ms: at(0.5).toFixed(3), p95_ms: at(0.95).toFixed(3) });
}

const versions = Array.from({ length: 1000 }, (_, i) => `${i % 3}:${i % 17}.${i % 101}~rc${i % 7}-${i % 5}+deb12u${i % 13}`);
await measure('compareDebianVersions, sort of 1,000 versions', SAMPLES, () => [...versions].sort(compareDebianVersions));
const policy = `big:\n  Installed: 1.0\n  Candidate: 2.0\n  Version table:\n${Array.from({ length: 500 }, (_, i) => `     ${i}.0 500\n        500 file:/r ./ Packages\n`).join('')}`;
await measure('parsePolicy, 500 versions', SAMPLES, () => parsePolicy(policy, 'big'));

if (!aptAvailable()) {
  console.log('apt/dpkg (as root) not available: apt rows skipped');
} else {
  // The machine's own index, read only: no binary caches written, no lock taken, nothing fetched.
  const readOnly = ['-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache='];
  const real = createAptBackend({ aptOptions: readOnly });
  await measure('observe dpkg (dpkg-query + apt-cache policy), real index', SAMPLES, () => real.observe('dpkg'));
  await measure('listUpgradable (apt-get -s dist-upgrade), real index', Math.min(SAMPLES, 10), () => real.listUpgradable());

  const store = await ResourceStore.open();
  const rec = new PackageReconciler({ store, backend: real, index: new PackageIndex({ backend: real, minIntervalMs: 0 }) });
  store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'dpkg' }, spec: { name: 'dpkg' } });
  await measure('reconcile of an installed Package (resync, no change)', SAMPLES, () => rec.reconcile('Package/dpkg', AbortSignal.timeout(60_000)));
  await store.close();

  const dir = await mkdtemp(join(tmpdir(), 'sm-bench-apt-'));
  try {
    const repo = await createAptRepoIn(dir, [{ name: 'systemmanager-test-bench', version: '1.0' }]);
    const sandbox = await createDpkgSandbox(dir);
    const box = createAptBackend({ aptOptions: [...repo.aptOptions, ...sandbox.aptOptions], dpkgAdminDir: sandbox.adminDir });
    await measure('apt-get update, local file: repository', 3, () => box.updateIndex());
    const cycles = Math.min(SAMPLES, 10);
    const installs: number[] = [];
    await measure('install + remove cycle, private dpkg root', cycles, async () => {
      const t0 = performance.now();
      await box.install('systemmanager-test-bench', undefined);
      installs.push(performance.now() - t0);
      await box.remove('systemmanager-test-bench');
    });
    installs.sort((a, b) => a - b);
    rows.push({ case: '  of which install', n: installs.length, median_ms: installs[Math.floor(installs.length / 2)]!.toFixed(3), p95_ms: installs.at(-1)!.toFixed(3) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.table(rows);
