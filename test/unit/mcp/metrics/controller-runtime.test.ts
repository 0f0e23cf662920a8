import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ControllerRuntimeMetrics } from '../../../../mcp/metrics/index.ts';
import { ControllerManager, TerminalError } from '../../../../controllers/runtime/index.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { silentLogger } from '../../../../resources/log.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { waitFor } from '../../../support/wait.ts';
import { parseExposition, valueOf } from './exposition.ts';

test('a real ControllerManager feeds controller-runtime and workqueue metrics, zero series first', async (t) => {
  const store = await ResourceStore.open();
  const registry = new Registry();
  const metrics = new ControllerRuntimeMetrics(registry);
  const manager = new ControllerManager({ store, logger: silentLogger, metrics });
  t.after(() => manager.stop());
  const calls = new Map<string, number>();
  manager.add({ name: 'probe', kind: 'HealthProbe', backoffBaseMs: 1 }, {
    async reconcile(key) {
      const n = (calls.get(key) ?? 0) + 1;
      calls.set(key, n);
      if (key === 'HealthProbe/flaky' && n === 1) throw new Error('first try fails');
      if (key === 'HealthProbe/broken') throw new TerminalError('never works', 'BadSpec');
      return {};
    },
  });

  const before = parseExposition(await registry.metrics());
  assert.equal(valueOf(before, 'controller_runtime_reconcile_total', { controller: 'probe', result: 'error' }), 0, 'series exist before anything ran');
  assert.equal(valueOf(before, 'workqueue_adds_total', { name: 'probe' }), 0);

  for (const name of ['ok', 'flaky', 'broken']) store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name }, spec: { exec: { command: ['/bin/true'] } } });
  manager.start();
  await waitFor(() => (calls.get('HealthProbe/flaky') ?? 0) >= 2 && calls.has('HealthProbe/broken') && calls.has('HealthProbe/ok'));
  await waitFor(async () => valueOf(parseExposition(await registry.metrics()), 'controller_runtime_reconcile_total', { controller: 'probe', result: 'success' }) >= 2);

  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'controller_runtime_reconcile_errors_total', { controller: 'probe' }), 2, 'the flaky first try and the terminal one');
  assert.equal(valueOf(s, 'controller_runtime_terminal_reconcile_errors_total', { controller: 'probe' }), 1);
  assert.equal(valueOf(s, 'controller_runtime_reconcile_total', { controller: 'probe', result: 'error' }), 2);
  assert.ok(valueOf(s, 'workqueue_adds_total', { name: 'probe' }) >= 4, 'three objects plus the retry');
  assert.ok(valueOf(s, 'workqueue_retries_total', { name: 'probe' }) >= 1);
  assert.ok(valueOf(s, 'controller_runtime_reconcile_time_seconds_count', { controller: 'probe' }) >= 4);
  assert.ok(valueOf(s, 'workqueue_queue_duration_seconds_count', { name: 'probe' }) >= 4);
  assert.equal(valueOf(s, 'workqueue_depth', { name: 'probe' }), 0);
});
