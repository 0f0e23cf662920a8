import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceStore } from '../../../../resources/store.ts';
import { beginStatus } from '../../../../controllers/runtime/status.ts';
import { getCondition, markNotReady, markReady } from '../../../../controllers/runtime/conditions.ts';
import { clock, container } from './fixtures.ts';

test('commit writes once, with observedGeneration from begin, and not at all when nothing changed', async () => {
  const store = await ResourceStore.open();
  store.upsert(container('web'));
  let statusEvents = 0;
  store.watch((e) => {
    if (e.statusChanged) statusEvents++;
  });
  const patch = beginStatus(store, 'Container/web', { now: clock() })!;
  patch.status.state = 'running';
  markReady(patch.status, 'Running', 'container is running', patch);
  assert.equal(store.get('Container', 'web')!.status, undefined, 'nothing is written before commit');
  const written = patch.commit()!;
  assert.equal(written.status!.observedGeneration, 1);
  assert.equal(written.status!.state, 'running');
  assert.equal(getCondition(written.status, 'Ready')!.observedGeneration, 1);
  assert.equal(written.metadata.generation, 1, 'status writes never bump generation');
  assert.equal(statusEvents, 1);

  const again = beginStatus(store, 'Container/web')!;
  markReady(again.status, 'Running', 'container is running', again);
  assert.equal(again.commit()!.metadata.resourceVersion, written.metadata.resourceVersion, 'an unchanged status is not written');
  assert.equal(statusEvents, 1);
});

test('observedGeneration is the generation at begin even if the spec moved meanwhile', async () => {
  const store = await ResourceStore.open();
  store.upsert(container('web'));
  const patch = beginStatus(store, 'Container/web')!;
  store.upsert(container('web', 'busybox:2'));
  patch.status.state = 'running';
  const written = patch.commit()!;
  assert.equal(written.metadata.generation, 2);
  assert.equal(written.status!.observedGeneration, 1, 'the status tells which spec it describes');
});

test('commit applies only its own changes over a concurrent writer', async () => {
  const store = await ResourceStore.open();
  store.upsert(container('web'));
  store.updateStatus('Container', 'web', { state: 'created', ip: '10.0.0.2' });
  const patch = beginStatus(store, 'Container/web')!;
  // Another writer changes a field and adds a condition after our copy was taken.
  const other = beginStatus(store, 'Container/web')!;
  other.status.ip = '10.0.0.3';
  markNotReady(other.status, 'ProbeFailing', 'probe failed', other);
  other.commit();
  patch.status.state = 'running';
  patch.status.conditions = [...(patch.status.conditions ?? []), { type: 'Available', status: 'True', reason: 'Up', lastTransitionTime: new Date().toISOString() }];
  const written = patch.commit()!;
  assert.equal(written.status!.state, 'running');
  assert.equal(written.status!.ip, '10.0.0.3', "the other writer's field survives");
  assert.equal(getCondition(written.status, 'Ready')?.reason, 'ProbeFailing', "the other writer's condition survives");
  assert.equal(getCondition(written.status, 'Available')?.status, 'True');
});

test('commit does nothing, without throwing, when the object was deleted or re-created', async () => {
  const store = await ResourceStore.open();
  assert.equal(beginStatus(store, 'Container/none'), undefined);
  store.upsert(container('web'));
  const patch = beginStatus(store, 'Container/web')!;
  patch.status.state = 'running';
  store.delete('Container', 'web');
  assert.equal(patch.commit(), undefined);

  store.upsert(container('web'));
  const stale = beginStatus(store, 'Container/web')!;
  store.delete('Container', 'web');
  store.upsert(container('web'));
  stale.status.state = 'running';
  assert.equal(stale.commit(), undefined, 'a status for the old object is not written onto the new one');
  assert.equal(store.get('Container', 'web')!.status, undefined);
});
