// ProbeReconciler with fake probes and a fake monotonic clock: scheduling, thresholds, the Ready
// condition, status-write suppression and the restart path, without real targets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeReconciler, type ProbeOutcome, type ProbeReport } from '../../../../controllers/probe/index.ts';
import { getCondition } from '../../../../controllers/runtime/index.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { ResourceStore } from '../../../../resources/store.ts';

const KEY = 'HealthProbe/p';

async function setup(opts: { statusRefreshMs?: number; spec?: Record<string, unknown> } = {}) {
  const store = await ResourceStore.open();
  let clock = 1_000;
  const outcomes: ProbeOutcome[] = [];
  let calls = 0;
  const reports: ProbeReport[] = [];
  const make = () =>
    new ProbeReconciler({
      store,
      monotonicNow: () => clock,
      jitter: () => 0.5,
      statusRefreshMs: opts.statusRefreshMs,
      onResult: (r) => reports.push(r),
      probers: {
        tcp: async () => {
          calls += 1;
          return outcomes.shift() ?? { success: true, message: 'connected' };
        },
      },
    });
  const reconciler = make();
  store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name: 'p' }, spec: opts.spec ?? { tcp: { host: '127.0.0.1', port: 9 }, interval: '10s', failureThreshold: 2, successThreshold: 2 } });
  const signal = new AbortController().signal;
  return {
    store,
    reconciler,
    make,
    reports,
    outcomes,
    calls: () => calls,
    advance: (ms: number) => (clock += ms),
    reconcile: (r = reconciler) => r.reconcile(KEY, signal),
    ready: () => getCondition(store.get('HealthProbe', 'p')!.status, 'Ready'),
  };
}

const ok: ProbeOutcome = { success: true, message: 'connected' };
const refused: ProbeOutcome = { success: false, message: 'connection refused' };

test('a probe runs when due and asks to be looked at again when the interval has passed', async () => {
  const h = await setup();
  assert.deepEqual(await h.reconcile(), { requeueAfterMs: 10_000 });
  assert.equal(h.calls(), 1);
  h.advance(4_000);
  assert.deepEqual(await h.reconcile(), { requeueAfterMs: 6_000 }, 'an early reconcile (resync, event) does not probe');
  assert.equal(h.calls(), 1);
  h.advance(6_000);
  await h.reconcile();
  assert.equal(h.calls(), 2);
});

test('fixed rate: a late start does not shift later due times; a long stall does not cause a burst', async () => {
  const h = await setup();
  await h.reconcile();
  h.advance(10_300);
  assert.deepEqual(await h.reconcile(), { requeueAfterMs: 9_700 }, 'due again 20 s after the first due time');
  assert.equal(h.reports[1]!.lagMs, 300);
  h.advance(60_000);
  await h.reconcile();
  assert.deepEqual(await h.reconcile(), { requeueAfterMs: 9_700 }, 'after a stall the missed slots are skipped: the next one is on the same grid, not at once');
  assert.equal(h.reports[2]!.lagMs, 50_300);
  assert.equal(h.calls(), 3);
});

test('Ready follows the thresholds: Unknown until decided, False after failureThreshold, True after successThreshold', async () => {
  const h = await setup();
  h.outcomes.push(refused, refused, ok, ok, refused);
  const seen: Array<[string | undefined, unknown]> = [];
  for (let i = 0; i < 5; i++) {
    await h.reconcile();
    seen.push([h.ready()?.status, h.store.get('HealthProbe', 'p')!.status!.consecutiveFailures]);
    h.advance(10_000);
  }
  assert.deepEqual(seen, [
    ['Unknown', 1],
    ['False', 2],
    ['False', 0],
    ['True', 0],
    ['True', 1],
  ]);
  assert.equal(h.ready()!.reason, 'ProbeSucceeded', 'one failure below the threshold leaves Ready as it was');
  const st = h.store.get('HealthProbe', 'p')!.status!;
  assert.equal(st.message, 'connection refused', 'status.message is the last result even when Ready did not move');
  assert.equal(st.success, false);
});

test('steady results are kept in memory and written only when something changes or the refresh interval passes', async () => {
  const h = await setup({ statusRefreshMs: 60_000, spec: { tcp: { host: '127.0.0.1', port: 9 }, interval: '1s' } });
  let writes = 0;
  h.store.watch((e) => {
    if (e.statusChanged) writes += 1;
  });
  for (let i = 0; i < 30; i++) {
    await h.reconcile();
    h.advance(1_000);
  }
  assert.equal(writes, 1, '30 identical successes: one write');
  assert.equal(h.reconciler.latest('p')!.consecutiveSuccesses, 30, 'latest() has every probe');
  for (let i = 0; i < 31; i++) {
    await h.reconcile();
    h.advance(1_000);
  }
  assert.equal(writes, 2, 'the refresh interval passed: written again');
  assert.equal(h.store.get('HealthProbe', 'p')!.status!.consecutiveSuccesses, 61, 'the 61st probe, 60 s after the first write: counts and lastProbeTime of that one probe');
  h.outcomes.push(refused);
  await h.reconcile();
  assert.equal(writes, 3, 'a failure is written at once');
});

test('statusRefreshMs 0 writes every probe', async () => {
  const h = await setup({ statusRefreshMs: 0, spec: { tcp: { host: '127.0.0.1', port: 9 }, interval: '1s' } });
  for (let i = 0; i < 3; i++) {
    await h.reconcile();
    h.advance(1_000);
  }
  assert.equal(h.reports.filter((r) => r.statusWritten).length, 3);
});

test('after a restart the counts, Ready and the schedule continue from the stored status', async () => {
  const h = await setup();
  h.outcomes.push(refused, refused);
  await h.reconcile();
  h.advance(10_000);
  await h.reconcile();
  assert.equal(h.ready()!.status, 'False');
  h.advance(3_000);
  const fresh = h.make();
  const wait = (await h.reconcile(fresh)).requeueAfterMs!;
  assert.ok(wait > 0 && wait <= 10_000, `not probed at once after the restart (wait ${wait} ms)`);
  assert.equal(h.calls(), 2);
  h.advance(wait);
  h.outcomes.push(ok);
  await h.reconcile(fresh);
  assert.equal(h.ready()!.status, 'False', 'one success of the two needed: still False');
  assert.equal(fresh.latest('p')!.consecutiveSuccesses, 1);
});

test('a deleted probe is forgotten; a probe of another kind is refused as terminal', async () => {
  const h = await setup();
  await h.reconcile();
  h.store.delete('HealthProbe', 'p');
  assert.deepEqual(await h.reconcile(), {});
  assert.equal(h.reconciler.latest('p'), undefined);
  await assert.rejects(h.reconciler.reconcile('Container/p', new AbortController().signal), { name: 'TerminalError' });
});

test('a probe that throws is reported as a failed probe, not as a crash', async () => {
  const store = await ResourceStore.open();
  const r = new ProbeReconciler({
    store,
    probers: {
      exec: async () => {
        throw new Error('boom');
      },
    },
  });
  store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name: 'p' }, spec: { exec: { command: ['/bin/true'] }, failureThreshold: 1 } });
  await r.reconcile(KEY, new AbortController().signal);
  const st = store.get('HealthProbe', 'p')!.status!;
  assert.equal(st.message, 'probe failed unexpectedly: boom');
  assert.equal(getCondition(st, 'Ready')!.status, 'False');
});

test('hostSelector that does not match and suspend leave Ready Unknown with the reason, and probe nothing', async () => {
  const h = await setup({ spec: { tcp: { host: '127.0.0.1', port: 9 }, suspend: true } });
  await h.reconcile();
  assert.equal(h.calls(), 0);
  assert.deepEqual([h.ready()!.status, h.ready()!.reason], ['Unknown', 'Suspended']);
  const store = await ResourceStore.open();
  const r = new ProbeReconciler({ store, hostLabels: () => ({ role: 'db' }) });
  store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name: 'p' }, spec: { tcp: { host: '127.0.0.1', port: 9 }, hostSelector: { matchLabels: { role: 'web' } } } });
  assert.deepEqual(await r.reconcile(KEY, new AbortController().signal), {});
  assert.equal(getCondition(store.get('HealthProbe', 'p')!.status, 'Ready')!.reason, 'HostNotSelected');
});

test('jitter spreads new probes within their interval after the first probe, then keeps the grid', async () => {
  for (const [jitter, second] of [
    [0, 5_000],
    [0.9, 14_000],
  ] as const) {
    const store = await ResourceStore.open();
    let clock = 0;
    const r = new ProbeReconciler({ store, monotonicNow: () => clock, jitter: () => jitter, probers: { tcp: async () => ok } });
    store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name: 'p' }, spec: { tcp: { host: '127.0.0.1', port: 9 }, interval: '10s' } });
    const signal = new AbortController().signal;
    assert.deepEqual(await r.reconcile(KEY, signal), { requeueAfterMs: second }, `jitter ${jitter}: the first probe runs at once, the second ${second} ms later`);
    clock = second;
    assert.deepEqual(await r.reconcile(KEY, signal), { requeueAfterMs: 10_000 }, 'then exactly one interval apart');
  }
});
