import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DriftWatcher } from '../../../../controllers/container/drift.ts';
import { waitFor } from '../../../support/wait.ts';
import { FakeDockerEngine } from '../../../support/docker-fake.ts';

test('DriftWatcher reports drift events of managed containers by resource name and ignores the rest', async (t) => {
  const engine = new FakeDockerEngine();
  engine.addImage('img');
  const drifted: string[] = [];
  let subscribed = 0;
  const w = new DriftWatcher({ engine, onDrift: (n, e) => drifted.push(`${n}:${e.action}`), onSubscribed: () => (subscribed += 1), backoffBaseMs: 5 });
  t.after(() => w.stop());
  w.start();
  await waitFor(() => subscribed === 1);
  const id = await engine.createContainer({ name: 'web', Image: 'img', Labels: { 'io.systemmanager.managed-by': 'systemmanager', 'io.systemmanager.name': 'web' } });
  const c = engine.containers.get(id)!;
  engine.emit('die', c);
  engine.emit('health_status: unhealthy', c);
  engine.emit('exec_start: sh', c);
  engine.emit('die', engine.addUnmanaged('other'));
  assert.deepEqual(drifted, ['web:die', 'web:health_status: unhealthy']);
});

test('DriftWatcher resubscribes with backoff after the stream ends or the engine is unreachable, and says so', async (t) => {
  const engine = new FakeDockerEngine();
  let subscribed = 0;
  const w = new DriftWatcher({ engine, onDrift: () => {}, onSubscribed: () => (subscribed += 1), backoffBaseMs: 5, backoffMaxMs: 40 });
  t.after(() => w.stop());
  w.start();
  await waitFor(() => subscribed === 1);
  engine.available = false;
  for (const end of [...engine.endStreams]) end();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(subscribed, 1, 'no subscription while the engine is down');
  engine.available = true;
  await waitFor(() => subscribed === 2, { timeoutMs: 2000 });
  assert.equal(w.subscriptions, 2);
});
