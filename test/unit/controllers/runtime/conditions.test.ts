import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clearCondition,
  getCondition,
  isReady,
  markNotReady,
  markReady,
  markReconciling,
  markStalled,
  setCondition,
} from '../../../../controllers/runtime/conditions.ts';
import type { ResourceStatus } from '../../../../resources/types.ts';
import { clock } from './fixtures.ts';

const types = (s: ResourceStatus) => (s.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();

test('lastTransitionTime moves only when the status flips, as meta.SetStatusCondition does', () => {
  const ctx = { generation: 1, now: clock() };
  const status: ResourceStatus = {};
  assert.equal(setCondition(status, { type: 'Ready', status: 'False', reason: 'Starting', message: 'pulling image' }, ctx), true);
  const first = getCondition(status, 'Ready')!.lastTransitionTime;

  assert.equal(setCondition(status, { type: 'Ready', status: 'False', reason: 'Starting', message: 'pulling image' }, ctx), false, 'no change');
  assert.equal(setCondition(status, { type: 'Ready', status: 'False', reason: 'Creating', message: 'creating container' }, { ...ctx, generation: 2 }), true);
  const reworded = getCondition(status, 'Ready')!;
  assert.equal(reworded.lastTransitionTime, first, 'reason, message and generation alone keep the time');
  assert.equal(reworded.reason, 'Creating');
  assert.equal(reworded.message, 'creating container');
  assert.equal(reworded.observedGeneration, 2);

  setCondition(status, { type: 'Ready', status: 'True', reason: 'Running', message: 'running' }, ctx);
  assert.ok(getCondition(status, 'Ready')!.lastTransitionTime > first, 'a flip moves the time');
});

test('markReconciling, markStalled and markReady keep the kstatus rules', () => {
  const ctx = { generation: 3, now: clock() };
  const status: ResourceStatus = {};
  markReconciling(status, 'Progressing', 'creating container', ctx);
  assert.deepEqual(types(status), ['Ready=Unknown', 'Reconciling=True']);

  markStalled(status, 'NameClash', 'an unmanaged container is called web', ctx);
  assert.deepEqual(types(status), ['Ready=False', 'Stalled=True'], 'a stalled object is not reconciling');
  assert.equal(getCondition(status, 'Ready')!.reason, 'NameClash');

  markReconciling(status, 'Progressing', 'retrying', ctx);
  assert.deepEqual(types(status), ['Ready=Unknown', 'Reconciling=True'], 'reconciling again clears Stalled');

  markStalled(status, 'NameClash', 'again', ctx);
  markReady(status, 'Running', 'container is running', ctx);
  assert.deepEqual(types(status), ['Ready=True'], 'Ready removes both abnormal-true conditions');
  assert.equal(getCondition(status, 'Ready')!.observedGeneration, 3);

  markStalled(status, 'NameClash', 'again', ctx);
  markNotReady(status, 'DockerUnavailable', 'cannot reach docker', ctx);
  assert.deepEqual(types(status), ['Ready=False'], 'a retried failure is not a stall');
});

test('clearCondition and isReady', () => {
  const status: ResourceStatus = {};
  assert.equal(clearCondition(status, 'Ready'), false);
  markReady(status, 'Running', 'ok', { generation: 2 });
  status.observedGeneration = 2;
  const meta = (generation: number) => ({ name: 'web', uid: 'u', generation, resourceVersion: '1', creationTimestamp: '' });
  assert.equal(isReady({ metadata: meta(2), status }), true);
  assert.equal(isReady({ metadata: meta(3), status }), false, 'Ready for an older spec is not ready');
  markNotReady(status, 'Failed', 'no', { generation: 2 });
  assert.equal(isReady({ metadata: meta(2), status }), false);
  assert.equal(clearCondition(status, 'Ready'), true);
  assert.equal(status.conditions, undefined, 'an empty list is dropped so status compares equal to none');
  assert.equal(isReady({ metadata: meta(2) }), false);
});
