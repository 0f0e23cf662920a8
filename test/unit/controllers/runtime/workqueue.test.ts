import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../../../controllers/runtime/workqueue.ts';
import { countingMetrics } from './fixtures.ts';

/**
 * within resolves with what `pending` (a q.get()) resolves to, or 'timeout' after ms. A get() cannot
 * be taken back, so tests keep the same pending get and await it again rather than calling get() anew.
 */
async function within<T>(pending: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('repeated adds of a waiting key hand it out once', async (t) => {
  const { counts, queue: metrics } = countingMetrics();
  const q = new WorkQueue({ metrics });
  t.after(() => q.shutDown());
  q.add('Container/a');
  q.add('Container/a');
  q.add('Container/b');
  q.add('Container/a');
  assert.equal(q.len(), 2);
  assert.equal(counts['queue:add'], 2, 'duplicate adds are not counted');
  assert.equal(counts['queue:depth'], 2);
  assert.equal(await q.get(), 'Container/a');
  assert.equal(await q.get(), 'Container/b');
  assert.equal(await within(q.get(), 30), 'timeout', 'nothing else is waiting');
});

test('a key being processed is not handed out again until done, then once more if re-added', async (t) => {
  const q = new WorkQueue();
  t.after(() => q.shutDown());
  q.add('Container/a');
  assert.equal(await q.get(), 'Container/a');
  q.add('Container/a');
  q.add('Container/a');
  assert.equal(q.len(), 0, 'the re-added key waits outside the queue while it is processed');
  const next = q.get();
  q.add('Container/b');
  assert.equal(await next, 'Container/b', 'another key is not held up');
  q.done('Container/b');
  const again = q.get();
  assert.equal(await within(again, 30), 'timeout', 'a is still processing');
  q.done('Container/a');
  assert.equal(await again, 'Container/a', 'done() re-queues a key added while processing');
  q.done('Container/a');
  assert.equal(await within(q.get(), 30), 'timeout', 'done() without a re-add does not re-queue');
});

test('addAfter delivers keys in due order and an earlier request wins', async (t) => {
  const q = new WorkQueue();
  t.after(() => q.shutDown());
  q.addAfter('Container/late', 80);
  q.addAfter('Container/soon', 20);
  q.add('Container/now');
  assert.equal(q.len(), 1, 'delayed keys are not ready yet');
  // Delayed adds use unref'd timers, so every wait on one goes through within(), whose timer keeps the test alive.
  const order = [await within(q.get(), 5_000), await within(q.get(), 5_000), await within(q.get(), 5_000)];
  assert.deepEqual(order, ['Container/now', 'Container/soon', 'Container/late']);

  q.addAfter('Container/x', 60_000);
  q.addAfter('Container/x', 10);
  assert.equal(await within(q.get(), 5_000), 'Container/x', 'an earlier addAfter replaces a later one');
  q.addAfter('Container/y', 10);
  q.addAfter('Container/y', 60_000);
  assert.equal(await within(q.get(), 5_000), 'Container/y', 'a later addAfter does not postpone an earlier one');
});

test('rate-limited adds back off exponentially per key, cap, and reset on forget', async (t) => {
  const q = new WorkQueue();
  t.after(() => q.shutDown());
  const delays = Array.from({ length: 14 }, () => q.addRateLimited('Container/a'));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400, 204800, 300000, 300000]);
  assert.equal(q.numRequeues('Container/a'), 14);
  assert.equal(q.addRateLimited('Container/b'), 100, 'backoff is per key');
  q.forget('Container/a');
  assert.equal(q.numRequeues('Container/a'), 0);
  assert.equal(q.addRateLimited('Container/a'), 100, 'forget resets the backoff');
});

test('a rate-limited key is delivered after its delay', async (t) => {
  const { counts, queue: metrics } = countingMetrics();
  const q = new WorkQueue({ backoffBaseMs: 10, metrics });
  t.after(() => q.shutDown());
  q.addRateLimited('Container/a');
  assert.equal(q.len(), 0);
  assert.equal(await within(q.get(), 5_000), 'Container/a');
  q.done('Container/a');
  assert.equal(counts['queue:retry'], 1);
  assert.equal(counts['queue:queueDuration'], 1);
  assert.equal(counts['queue:workDuration'], 1);
});

test('shutDown releases a waiting get(), drops waiting keys and refuses new ones', async () => {
  const idle = new WorkQueue();
  const blocked = idle.get();
  idle.shutDown();
  assert.equal(await blocked, undefined, 'a worker waiting on an empty queue is released');

  const q = new WorkQueue();
  q.add('Container/a');
  assert.equal(await q.get(), 'Container/a');
  q.add('Container/b');
  q.add('Container/a');
  q.shutDown();
  assert.ok(q.shuttingDown);
  assert.equal(await q.get(), undefined, 'keys still waiting are not handed out after shutdown');
  q.add('Container/c');
  assert.equal(q.len(), 0, 'adds after shutdown are ignored');
  q.done('Container/a');
  assert.equal(q.isProcessing('Container/a'), false, 'done() still releases a key processed across shutdown');
  assert.equal(q.len(), 0, 'and does not re-queue it');
});
