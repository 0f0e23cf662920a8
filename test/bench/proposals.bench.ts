// Benchmarks for the audit log and the proposal path. Prints tables; asserts nothing.
//   node --import tsx test/bench/proposals.bench.ts
// 1. Audit append (JSON line + hash chain + fsync) per line, p50/p99 over 1,000 appends, against a
//    floor of a bare appendFile-style write + fsync of a line of the same size.
// 2. Proposal create → approve → file written (→ git commit), per proposal, without and with git.

import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../controllers/audit/index.ts';
import { ProposalService } from '../../controllers/proposal/index.ts';
import { silentLogger } from '../../resources/log.ts';
import { expandScopes } from '../../resources/scopes.ts';
import { ManifestSource } from '../../resources/source.ts';
import { ResourceStore } from '../../resources/store.ts';

const N = 1000;

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function row(name: string, samples: number[]): string {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return `| ${name.padEnd(44)} | ${String(samples.length).padStart(5)} | ${pct(samples, 50).toFixed(3).padStart(8)} | ${pct(samples, 99).toFixed(3).padStart(8)} | ${mean.toFixed(3).padStart(8)} |`;
}

const root = await mkdtemp(join(tmpdir(), 'sm-bench-proposals-'));
try {
  const lineSamples: number[] = [];
  const floorSamples: number[] = [];
  // Interleaved, so both see the same disk and the same load from anything else on the machine.
  const audit = await AuditLog.open(join(root, 'audit-state'));
  const entry = { identity: { agent: 'bench', tokenId: 'tok-bench' }, action: 'proposal.approved', outcome: 'allowed' as const, proposal: 'p-20261123-231500-3f9a', target: 'update Container/web' };
  const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry, prev: '0'.repeat(64), hash: '0'.repeat(64) })}\n`;
  const floor = await open(join(root, 'floor.log'), 'a');
  for (let i = 0; i < N; i++) {
    let t0 = performance.now();
    await audit.append(entry);
    lineSamples.push(performance.now() - t0);
    t0 = performance.now();
    await floor.appendFile(line);
    await floor.sync();
    floorSamples.push(performance.now() - t0);
  }
  await audit.close();
  await floor.close();

  const proposalRuns = async (useGit: boolean, count: number): Promise<number[]> => {
    const dir = join(root, useGit ? 'git' : 'plain');
    const manifests = join(dir, 'manifests');
    await mkdir(manifests, { recursive: true });
    await writeFile(join(manifests, 'web.yaml'), 'apiVersion: systemmanager.io/v1alpha1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: systemmanager-test/busybox:1\n');
    if (useGit) {
      execFileSync('git', ['-C', manifests, 'init', '-q']);
      execFileSync('git', ['-C', manifests, '-c', 'user.name=b', '-c', 'user.email=b@localhost', 'add', '.']);
      execFileSync('git', ['-C', manifests, '-c', 'user.name=b', '-c', 'user.email=b@localhost', 'commit', '-q', '-m', 'init']);
    }
    const store = await ResourceStore.open({ stateDir: join(dir, 'state') });
    const source = new ManifestSource(store, { dir: manifests, watch: false });
    await source.start();
    const log = await AuditLog.open(join(dir, 'state'));
    const service = new ProposalService({ store, source, audit: log, manifestsDir: manifests, logger: silentLogger, git: useGit });
    const approver = { identity: { agent: 'bob' }, scopes: expandScopes(['proposals:approve']) };
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const p = await service.propose({
        changes: [{ operation: 'create', object: { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Package', metadata: { name: `pkg-${i}` }, spec: { name: `pkg-${i}` } } }],
        reason: `bench ${i}`,
        proposedBy: { agent: 'alice' },
      });
      await service.approve(p.metadata.name, approver);
      samples.push(performance.now() - t0);
    }
    await source.stop();
    await log.close();
    await store.close();
    return samples;
  };
  const plain = await proposalRuns(false, 100);
  const withGit = await proposalRuns(true, 50);

  console.log('| measurement (ms)                             |     n |      p50 |      p99 |     mean |');
  console.log('| -------------------------------------------- | ----: | -------: | -------: | -------: |');
  console.log(row('audit append (chain + fsync), per line', lineSamples));
  console.log(row('floor: appendFile + fsync, per line', floorSamples));
  console.log(row('propose → approve → file written', plain));
  console.log(row('propose → approve → file written → git commit', withGit));
} finally {
  await rm(root, { recursive: true, force: true });
}
