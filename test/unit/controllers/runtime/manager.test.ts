import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResourceStore } from '../../../../resources/store.ts';
import { silentLogger } from '../../../../resources/log.ts';
import { ControllerManager, type ControllerManagerOptions } from '../../../../controllers/runtime/manager.ts';
import { TerminalError, type ControllerOptions, type Reconciler, type Result } from '../../../../controllers/runtime/contracts.ts';
import { getCondition, markReady, markReconciling } from '../../../../controllers/runtime/conditions.ts';
import { beginStatus } from '../../../../controllers/runtime/status.ts';
import { waitFor } from '../../../support/wait.ts';
import { clock, container, countingMetrics, gate } from './fixtures.ts';

async function setup(t: TestContext, opts: Partial<ControllerManagerOptions> = {}) {
  const store = await ResourceStore.open();
  const { counts, metrics } = countingMetrics();
  const manager = new ControllerManager({ store, logger: silentLogger, metrics, now: clock(), ...opts });
  t.after(() => manager.stop());
  return { store, manager, counts };
}

const base: ControllerOptions = { name: 'container', kind: 'Container', resyncMs: 0, backoffBaseMs: 10 };

/** reconciler wraps a function as a Reconciler. */
function reconciler(fn: (key: string, signal: AbortSignal) => Promise<Result | void> | Result | void): Reconciler {
  return { reconcile: async (key, signal) => (await fn(key, signal)) ?? {} };
}

/**
 * readyHistory records every distinct Ready condition the store saw for `key`, as `status/reason/message`,
 * so tests see short-lived states that polling could miss.
 */
function readyHistory(store: ResourceStore, key: string): string[] {
  const seen: string[] = [];
  store.watch((e) => {
    const r = e.key === key ? getCondition(e.object.status, 'Ready') : undefined;
    const line = r && `${r.status}/${r.reason}/${r.message ?? ''}`;
    if (line && seen.at(-1) !== line) seen.push(line);
  });
  return seen;
}

/** counter counts calls per key. */
function counter() {
  const calls = new Map<string, number>();
  return {
    calls,
    hit(key: string) {
      const n = (calls.get(key) ?? 0) + 1;
      calls.set(key, n);
      return n;
    },
    of: (key: string) => calls.get(key) ?? 0,
  };
}

test('start reconciles existing objects, spec changes enqueue, status writes do not', async (t) => {
  const { store, manager } = await setup(t);
  store.upsert(container('web'));
  store.upsert(container('db'));
  store.upsert({ ...container('other'), kind: 'Image', spec: { ref: 'busybox:1' } });
  const seen = counter();
  manager.add(base, reconciler((key) => {
    const n = seen.hit(key);
    // A status that differs on every call: if status writes re-enqueued, this would never stop.
    const patch = beginStatus(store, key)!;
    patch.status.reconciles = n;
    markReady(patch.status, 'Running', `reconciled ${n} times`, patch);
    patch.commit();
  }));
  manager.start();
  await waitFor(() => seen.of('Container/web') === 1 && seen.of('Container/db') === 1);
  assert.equal(store.get('Container', 'web')!.status!.observedGeneration, 1);
  await sleep(100);
  assert.equal(seen.of('Container/web'), 1, 'its own status write did not re-enqueue the key');
  assert.equal(seen.of('Image/other'), 0, 'other kinds are not this controller’s business');

  store.upsert({ ...container('web'), metadata: { name: 'web', labels: { tier: 'front' } } });
  store.upsert(container('web', 'busybox:2'));
  await waitFor(() => seen.of('Container/web') === 2);
  assert.equal(store.get('Container', 'web')!.status!.observedGeneration, 2);
  await sleep(50);
  assert.equal(seen.of('Container/web'), 2, 'a label-only change does not enqueue');
  assert.equal(seen.of('Container/db'), 1);
});

test('a key is never reconciled twice at once, even with 4 workers and a flood of events', async (t) => {
  const { store, manager } = await setup(t);
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const n of names) store.upsert(container(n));
  const inFlight = new Map<string, number>();
  const maxPerKey = new Map<string, number>();
  let running = 0;
  let maxRunning = 0;
  let total = 0;
  const c = manager.add({ ...base, concurrency: 4 }, reconciler(async (key) => {
    const now = (inFlight.get(key) ?? 0) + 1;
    inFlight.set(key, now);
    maxPerKey.set(key, Math.max(maxPerKey.get(key) ?? 0, now));
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(10);
    running--;
    inFlight.set(key, now - 1);
    total++;
  }));
  manager.start();
  for (let i = 0; i < 20; i++) {
    for (const n of names) c.enqueue(`Container/${n}`);
    await sleep(3);
  }
  await waitFor(() => running === 0 && c.queue.len() === 0 && total > names.length);
  assert.deepEqual([...maxPerKey.values()], names.map(() => 1), 'each key ran alone');
  assert.ok(maxRunning > 1, `different keys ran in parallel (max ${maxRunning})`);
  assert.ok(maxRunning <= 4, `concurrency is bounded (max ${maxRunning})`);
});

test('a key enqueued while it is being reconciled is reconciled again afterwards', async (t) => {
  const { store, manager } = await setup(t);
  store.upsert(container('web'));
  const seen = counter();
  const first = gate();
  const c = manager.add({ ...base, concurrency: 2 }, reconciler(async (key) => {
    if (seen.hit(key) === 1) await first.promise;
  }));
  manager.start();
  await waitFor(() => seen.of('Container/web') === 1);
  c.enqueue('Container/web');
  store.upsert(container('web', 'busybox:2'));
  await sleep(30);
  assert.equal(seen.of('Container/web'), 1, 'the second worker did not take the busy key');
  first.open();
  await waitFor(() => seen.of('Container/web') === 2);
  await sleep(30);
  assert.equal(seen.of('Container/web'), 2, 'the two adds while busy became one more reconcile');
});

test('errors back off, set Ready=False with the reason and message, and recover', async (t) => {
  const { store, manager, counts } = await setup(t);
  store.upsert(container('web'));
  const times: number[] = [];
  const c = manager.add({ ...base, backoffBaseMs: 20 }, reconciler((key) => {
    times.push(performance.now());
    if (times.length === 1) throw new Error('disk full');
    if (times.length <= 3) throw Object.assign(new Error('cannot reach the Docker engine'), { code: 'DOCKER_UNAVAILABLE' });
    const patch = beginStatus(store, key)!;
    markReady(patch.status, 'Running', 'container is running', patch);
    patch.commit();
  }));
  const history = readyHistory(store, 'Container/web');
  manager.start();

  await waitFor(() => getCondition(store.get('Container', 'web')!.status, 'Ready')?.status === 'True');
  assert.deepEqual(history, [
    'False/ReconcileError/disk full',
    'False/DockerUnavailable/cannot reach the Docker engine',
    'True/Running/container is running',
  ]);
  assert.equal(times.length, 4);
  // Lower bounds only: timers never fire early, but may fire late on a busy machine.
  const gaps = times.slice(1).map((at, i) => at - times[i]!);
  assert.ok(gaps[0]! >= 18 && gaps[1]! >= 38 && gaps[2]! >= 78, `backoff doubles: ${gaps.map(Math.round).join(', ')} ms`);
  assert.equal(c.queue.numRequeues('Container/web'), 0, 'success resets the backoff');
  assert.equal(counts.errors, 3);
  assert.equal(counts['total:error'], 3);
  assert.equal(counts['total:success'], 1);
  assert.equal(counts.panics, undefined);
  const events = manager.recorder.list('Container/web');
  assert.deepEqual(events.map((e) => [e.type, e.reason, e.count]), [['Warning', 'ReconcileError', 1], ['Warning', 'DockerUnavailable', 2]]);
});

test('a TerminalError stalls the object and is not retried until the spec changes', async (t) => {
  const { store, manager, counts } = await setup(t);
  store.upsert(container('web'));
  const seen = counter();
  const c = manager.add(base, reconciler((key) => {
    seen.hit(key);
    const image = store.getByKey(key)!.spec.image;
    if (image === 'busybox:1') throw new TerminalError('NameClash', 'an unmanaged container is already called web');
    const patch = beginStatus(store, key)!;
    markReady(patch.status, 'Running', 'container is running', patch);
    patch.commit();
  }));
  manager.start();
  await waitFor(() => getCondition(store.get('Container', 'web')!.status, 'Stalled'));
  const status = store.get('Container', 'web')!.status!;
  assert.deepEqual(
    { stalled: getCondition(status, 'Stalled')!.status, ready: getCondition(status, 'Ready')!.status, reason: getCondition(status, 'Ready')!.reason },
    { stalled: 'True', ready: 'False', reason: 'NameClash' },
  );
  assert.equal(getCondition(status, 'Ready')!.message, 'an unmanaged container is already called web');
  await sleep(100); // ten backoff periods
  assert.equal(seen.of('Container/web'), 1, 'not retried');
  assert.equal(c.queue.numRequeues('Container/web'), 0);
  assert.equal(counts.terminal, 1);
  assert.equal(manager.recorder.list('Container/web')[0]?.reason, 'NameClash');

  store.upsert(container('web', 'busybox:2'));
  await waitFor(() => getCondition(store.get('Container', 'web')!.status, 'Ready')?.status === 'True');
  assert.equal(getCondition(store.get('Container', 'web')!.status, 'Stalled'), undefined, 'Ready clears Stalled');
});

test('a TerminalError found in the cause chain also stalls', async (t) => {
  const { store, manager } = await setup(t);
  store.upsert(container('web'));
  manager.add(base, reconciler(() => {
    throw new Error('creating container web failed', { cause: new TerminalError('InvalidSpec', 'port 70000 is out of range') });
  }));
  manager.start();
  await waitFor(() => getCondition(store.get('Container', 'web')!.status, 'Stalled'));
  const ready = getCondition(store.get('Container', 'web')!.status, 'Ready')!;
  assert.equal(ready.reason, 'InvalidSpec');
  assert.equal(ready.message, 'creating container web failed');
});

test('success after Reconciling and Stalled clears both and keeps lastTransitionTime when Ready did not flip', async (t) => {
  const { store, manager } = await setup(t);
  store.upsert(container('web'));
  const seen = counter();
  manager.add({ ...base, backoffBaseMs: 5 }, reconciler((key) => {
    const n = seen.hit(key);
    const patch = beginStatus(store, key)!;
    if (n === 1) {
      markReconciling(patch.status, 'Progressing', 'pulling image', patch);
      patch.commit();
      throw new TerminalError('PullFailed', 'no such image');
    }
    markReady(patch.status, 'Running', `running (pass ${n})`, patch);
    patch.commit();
    return n === 2 ? { requeueAfterMs: 10 } : {};
  }));
  manager.start();
  await waitFor(() => getCondition(store.get('Container', 'web')!.status, 'Stalled'));
  assert.equal(getCondition(store.get('Container', 'web')!.status, 'Reconciling'), undefined, 'Stalled removed Reconciling');
  store.upsert(container('web', 'busybox:2'));
  await waitFor(() => seen.of('Container/web') === 2);
  const readyAt = getCondition(store.get('Container', 'web')!.status, 'Ready')!;
  assert.deepEqual(store.get('Container', 'web')!.status!.conditions!.map((x) => x.type), ['Ready']);
  await waitFor(() => seen.of('Container/web') === 3, { message: 'requeueAfterMs brings the key back' });
  const later = getCondition(store.get('Container', 'web')!.status, 'Ready')!;
  assert.equal(later.message, 'running (pass 3)');
  assert.equal(later.lastTransitionTime, readyAt.lastTransitionTime, 'Ready stayed True, so its time stayed');
});

test('a deleted object’s key is reconciled so cleanup can run; failing cleanup retries without status', async (t) => {
  const { store, manager } = await setup(t);
  store.upsert(container('web'));
  const visits: Array<{ key: string; exists: boolean }> = [];
  manager.add(base, reconciler((key) => {
    const exists = store.getByKey(key) !== undefined;
    visits.push({ key, exists });
    const failures = visits.filter((v) => v.exists === exists).length;
    if (failures === 1) throw new Error(exists ? 'docker create failed' : 'docker rm failed');
  }));
  manager.start();
  await waitFor(() => visits.length === 2, { message: 'the first reconcile failed and was retried' });
  assert.equal(manager.recorder.list('Container/web').length, 1);
  store.delete('Container', 'web');
  await waitFor(() => visits.filter((v) => !v.exists).length === 2, { message: 'cleanup ran, failed once and was retried' });
  assert.equal(store.get('Container', 'web'), undefined, 'no status write resurrected the object');
  await waitFor(() => manager.recorder.list('Container/web').length === 0, { message: 'the events of an object that is gone are forgotten' });
  assert.deepEqual(visits.map((v) => v.key), ['Container/web', 'Container/web', 'Container/web', 'Container/web']);
});

test('a reconcile past its deadline is aborted and counted as an error, then retried', async (t) => {
  const { store, manager, counts } = await setup(t);
  store.upsert(container('web'));
  const seen = counter();
  let abortReason: unknown;
  manager.add({ ...base, timeoutMs: 30 }, reconciler(async (key, signal) => {
    if (seen.hit(key) === 1) {
      await new Promise((_, reject) => signal.addEventListener('abort', () => {
        abortReason = signal.reason;
        reject(signal.reason);
      }));
    }
    const patch = beginStatus(store, key)!;
    markReady(patch.status, 'Running', 'ok', patch);
    patch.commit();
  }));
  const history = readyHistory(store, 'Container/web');
  manager.start();
  await waitFor(() => getCondition(store.get('Container', 'web')!.status, 'Ready')?.status === 'True');
  assert.deepEqual(history, ['False/ReconcileTimeout/reconcile did not finish within 30 ms', 'True/Running/ok']);
  assert.equal((abortReason as Error).name, 'TimeoutError', 'the reconcile saw its deadline');
  assert.equal(counts.errors, 1);
  assert.equal(seen.of('Container/web'), 2);
});

test('a reconcile that ignores its signal frees its worker but keeps its key busy', async (t) => {
  const { store, manager } = await setup(t, { abandonGraceMs: 10 });
  store.upsert(container('hung'));
  const seen = counter();
  const release = gate();
  const c = manager.add({ ...base, concurrency: 1, timeoutMs: 20 }, reconciler(async (key) => {
    if (seen.hit(key) === 1 && key === 'Container/hung') await release.promise;
  }));
  manager.start();
  await waitFor(() => getCondition(store.get('Container', 'hung')!.status, 'Ready')?.reason === 'ReconcileTimeout');
  store.upsert(container('next'));
  await waitFor(() => seen.of('Container/next') === 1, { message: 'the only worker moved on to another key' });
  c.enqueue('Container/hung');
  await sleep(50);
  assert.equal(seen.of('Container/hung'), 1, 'the hung key is not started again while the first call runs');
  release.open();
  await waitFor(() => seen.of('Container/hung') === 2, { message: 'once the call returns, the key runs again' });
});

test('a thrown non-Error is counted as a panic and retried', async (t) => {
  const { store, manager, counts } = await setup(t);
  store.upsert(container('web'));
  const seen = counter();
  manager.add(base, reconciler((key) => {
    if (seen.hit(key) === 1) throw 'oops';
  }));
  manager.start();
  await waitFor(() => seen.of('Container/web') === 2);
  const ready = getCondition(store.get('Container', 'web')!.status, 'Ready')!;
  assert.equal(ready.reason, 'ReconcilePanic');
  assert.match(ready.message!, /oops/);
  assert.equal(counts.panics, 1);
  assert.equal(counts.terminal, undefined);
});

test('resync enqueues every key of the kind without any event', async (t) => {
  const { store, manager } = await setup(t);
  for (const n of ['a', 'b', 'c']) store.upsert(container(n));
  const seen = counter();
  manager.add({ ...base, resyncMs: 20 }, reconciler((key) => {
    seen.hit(key);
  }));
  manager.start();
  await waitFor(() => ['a', 'b', 'c'].every((n) => seen.of(`Container/${n}`) >= 3));
});

test('stop waits for in-flight reconciles and takes no new work', async (t) => {
  const { store, manager } = await setup(t);
  store.upsert(container('web'));
  let started = 0;
  let finished = 0;
  let aborted = false;
  manager.add(base, reconciler(async (_key, signal) => {
    started++;
    await sleep(80);
    aborted ||= signal.aborted;
    finished++;
  }));
  manager.start();
  await waitFor(() => started === 1);
  await manager.stop();
  assert.equal(finished, 1, 'stop resolved only after the reconcile finished');
  assert.equal(aborted, false, 'a reconcile finishing within the grace period is not aborted');
  store.upsert(container('web', 'busybox:2'));
  await sleep(30);
  assert.equal(started, 1, 'no work after stop');
  assert.throws(() => manager.start(), /stopped/);
});

test('stop aborts in-flight reconciles after the grace period, without marking them failed', async (t) => {
  const { store, manager, counts } = await setup(t, { shutdownGraceMs: 30 });
  store.upsert(container('web'));
  let sawAbort = false;
  let started = false;
  manager.add(base, reconciler(async (_key, signal) => {
    started = true;
    await new Promise((_, reject) => signal.addEventListener('abort', () => {
      sawAbort = true;
      reject(signal.reason);
    }));
  }));
  manager.start();
  await waitFor(() => started);
  await manager.stop();
  assert.equal(sawAbort, true);
  assert.equal(store.get('Container', 'web')!.status, undefined, 'a shutdown is not the object’s failure');
  assert.equal(counts.errors, undefined);
});

test('an error for a spec that changed during the reconcile is not written; the new spec is reconciled', async (t) => {
  const { store, manager } = await setup(t);
  store.upsert(container('web'));
  const seen = counter();
  const history = readyHistory(store, 'Container/web');
  manager.add(base, reconciler((key) => {
    if (seen.hit(key) === 1) {
      store.upsert(container('web', 'busybox:2'));
      throw new Error('image busybox:1 is gone');
    }
    const patch = beginStatus(store, key)!;
    markReady(patch.status, 'Running', 'ok', patch);
    patch.commit();
  }));
  manager.start();
  await waitFor(() => seen.of('Container/web') === 2 && getCondition(store.get('Container', 'web')!.status, 'Ready'));
  assert.deepEqual(history, ['True/Running/ok'], 'no Ready=False about the superseded spec');
  assert.equal(store.get('Container', 'web')!.status!.observedGeneration, 2);
  assert.equal(manager.recorder.list('Container/web')[0]?.message, 'image busybox:1 is gone', 'the failure is still an event');
});
