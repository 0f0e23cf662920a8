// Benchmark (issue: proposals): proposal created → approved → manifest written → watcher → container
// controller → container running, end to end in a real Agent against the real Docker engine.
// Prints a table; asserts nothing.   node --import tsx test/bench/proposal-e2e.bench.ts

import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent } from '../../mcp/agent.ts';
import { expandScopes } from '../../resources/scopes.ts';
import { API_VERSION } from '../../resources/kinds.ts';
import { dockerRequest, TEST_IMAGE } from '../support/parts.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 10);
const dirs = [await mkdtemp(join(tmpdir(), 'sm-bench-e2e-')), await mkdtemp(join(tmpdir(), 'sm-bench-e2e-'))];
const agent = await Agent.start({ manifestsDir: dirs[0]!, stateDir: dirs[1]!, listen: { host: '127.0.0.1', port: 0 }, hostName: 'bench', hostIntervalMs: 60_000 });
const proposer = { agent: 'bench-agent', tokenId: 'benchagent0001' };
const approver = { identity: { agent: 'bench-operator', tokenId: 'benchoperator01' }, scopes: expandScopes(['proposals:approve']) };
const prefix = `bench-e2e-${randomBytes(2).toString('hex')}`;
const rows: Array<{ phase: string; ms: number[] }> = [
  { phase: 'propose (validate, diff, audit, persist)', ms: [] },
  { phase: 'approve (audit, write file, persist)', ms: [] },
  { phase: 'approved -> container running', ms: [] },
  { phase: 'total: propose -> container running', ms: [] },
];
try {
  for (let i = 0; i < SAMPLES; i++) {
    const name = `${prefix}-${i}`;
    const object = { apiVersion: API_VERSION, kind: 'Container' as const, metadata: { name }, spec: { image: TEST_IMAGE, command: ['sh', '-c', 'sleep 3600'], network: 'none', stopTimeout: '1s' } };
    const t0 = performance.now();
    const proposal = await agent.proposals.propose({ changes: [{ operation: 'create', object }], reason: 'benchmark', proposedBy: proposer });
    const t1 = performance.now();
    await agent.proposals.approve(proposal.metadata.name, approver);
    const t2 = performance.now();
    await new Promise<void>((resolve) => {
      const check = () => (agent.store.get('Container', name)?.status as { state?: string } | undefined)?.state === 'running';
      if (check()) return resolve();
      const stop = agent.store.watch(() => {
        if (check()) {
          stop();
          resolve();
        }
      });
    });
    const t3 = performance.now();
    rows[0]!.ms.push(t1 - t0);
    rows[1]!.ms.push(t2 - t1);
    rows[2]!.ms.push(t3 - t2);
    rows[3]!.ms.push(t3 - t0);
  }
} finally {
  await agent.stop();
  for (let i = 0; i < SAMPLES; i++) await dockerRequest(`/containers/${prefix}-${i}?force=1`, undefined, 'DELETE').catch(() => {});
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}
const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((p / 100) * v.length))]!;
console.log(`\nproposal -> running container, ${SAMPLES} samples, real Agent + Docker engine (${process.version})`);
console.log('| phase | p50 ms | max ms |\n| --- | ---: | ---: |');
for (const r of rows) console.log(`| ${r.phase} | ${pct(r.ms, 50).toFixed(1)} | ${Math.max(...r.ms).toFixed(1)} |`);
