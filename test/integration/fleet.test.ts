// Fleet targeting (issue 8): three agents on one machine share one manifests directory, each with its
// own state directory and host labels. Each sees, reconciles and exports only the resources whose
// spec.hostSelector matches its labels; the others never enter its store, so it writes no status for
// them and its /metrics does not mention them.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../../mcp/agent.ts';
import type { Labels } from '../../resources/types.ts';
import { tempDir } from '../support/manifests.ts';
import { waitFor } from '../support/wait.ts';

function preference(name: string, selector?: string): string {
  return [
    'apiVersion: systemmanager.io/v1alpha1',
    'kind: OutputPreference',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  format: toon',
    ...(selector ? ['  hostSelector:', ...selector.split('\n').map((l) => `    ${l}`)] : []),
    '',
  ].join('\n');
}

async function startAgent(t: TestContext, manifests: string, hostName: string, hostLabels: Labels): Promise<Agent> {
  const state = await tempDir(t, `sm-fleet-${hostName}-`);
  const agent = await Agent.start({ manifestsDir: manifests, stateDir: state, listen: { host: '127.0.0.1', port: 0 }, hostName, hostLabels, hostIntervalMs: 60_000 });
  t.after(() => agent.stop());
  return agent;
}

const names = (agent: Agent) => agent.store.list('OutputPreference').map((o) => o.metadata.name).sort();
const ready = (agent: Agent, name: string) => agent.store.get('OutputPreference', name)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

test('three agents on one manifests directory each reconcile and export only what selects them', async (t) => {
  const manifests = await tempDir(t, 'sm-fleet-manifests-');
  await writeFile(join(manifests, 'everywhere.yaml'), preference('everywhere'));
  await writeFile(join(manifests, 'only-a.yaml'), preference('only-a', 'matchLabels:\n  role: a'));
  await writeFile(join(manifests, 'b-or-c.yaml'), preference('b-or-c', 'matchExpressions:\n  - key: role\n    operator: In\n    values: [b, c]'));
  await writeFile(join(manifests, 'not-c.yaml'), preference('not-c', 'matchExpressions:\n  - key: role\n    operator: NotIn\n    values: [c]'));
  await writeFile(join(manifests, 'gpu.yaml'), preference('gpu', 'matchExpressions:\n  - key: gpu\n    operator: Exists'));
  await writeFile(join(manifests, 'no-gpu-eu.yaml'), preference('no-gpu-eu', 'matchLabels:\n  region: eu\nmatchExpressions:\n  - key: gpu\n    operator: DoesNotExist'));
  await writeFile(join(manifests, 'host-b.yaml'), 'apiVersion: systemmanager.io/v1alpha1\nkind: Host\nmetadata:\n  name: fleet-b\nspec:\n  labels:\n    role: b\n');

  const a = await startAgent(t, manifests, 'fleet-a', { role: 'a', region: 'eu' });
  const b = await startAgent(t, manifests, 'fleet-b', { role: 'b', region: 'eu', gpu: 'true' });
  const c = await startAgent(t, manifests, 'fleet-c', { role: 'c', region: 'us' });

  const expected: Array<[Agent, string[]]> = [
    [a, ['everywhere', 'no-gpu-eu', 'not-c', 'only-a']],
    [b, ['b-or-c', 'everywhere', 'gpu', 'not-c']],
    [c, ['b-or-c', 'everywhere']],
  ];
  for (const [agent, want] of expected) {
    assert.deepEqual(names(agent), want);
    // Each agent's controller reconciled its own resources (status written by the output controller).
    await waitFor(() => want.every((n) => ready(agent, n)), { message: `${want.join(', ')} Ready` });
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    for (const name of ['everywhere', 'only-a', 'b-or-c', 'not-c', 'gpu', 'no-gpu-eu']) {
      const listed = text.includes(`kind="OutputPreference",name="${name}"`);
      assert.equal(listed, want.includes(name), `${name} in the metrics of an agent ${want.includes(name) ? 'selected' : 'not selected'} for it`);
    }
  }
  // Other hosts' Host objects are not this agent's business either.
  assert.deepEqual(a.store.list('Host').map((h) => h.metadata.name), ['fleet-a']);
  assert.deepEqual(b.store.list('Host').map((h) => h.metadata.name), ['fleet-b']);
  // The manifests directory is shared, so every agent reports the same file counts.
  for (const agent of [a, b, c]) assert.equal(agent.source.snapshot().files, 7);

  // Moving a resource to another host: it leaves one store (and its metrics) and enters the other.
  await writeFile(join(manifests, 'only-a.yaml'), preference('only-a', 'matchLabels:\n  role: c'));
  await waitFor(() => !names(a).includes('only-a') && ready(c, 'only-a'), { message: 'only-a to move from fleet-a to fleet-c' });
  assert.equal((await (await fetch(`${a.url}/metrics`)).text()).includes('name="only-a"'), false);
  assert.equal(names(b).includes('only-a'), false);
});
