import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEventRecorder } from '../../../../controllers/runtime/events.ts';
import { clock } from './fixtures.ts';

test('repeats of the same event are counted, not stored again', () => {
  const r = new MemoryEventRecorder({ now: clock() });
  r.record('Container/web', 'Warning', 'DockerUnavailable', 'cannot reach docker');
  r.record('Container/web', 'Normal', 'Started', 'container started');
  r.record('Container/web', 'Warning', 'DockerUnavailable', 'cannot reach docker');
  const events = r.list('Container/web');
  assert.equal(events.length, 2);
  const last = events[1]!;
  assert.equal(last.reason, 'DockerUnavailable');
  assert.equal(last.count, 2, 'the repeat moves to the end with its count');
  assert.ok(last.lastTimestamp > last.firstTimestamp);
  assert.equal(events[0]!.reason, 'Started');
  r.record('Container/web', 'Warning', 'DockerUnavailable', 'a different message');
  assert.equal(r.list('Container/web').length, 3, 'a different message is a different event');
});

test('events per key and keys overall are bounded, least recent first out', () => {
  const r = new MemoryEventRecorder({ maxEventsPerKey: 3, maxKeys: 2 });
  for (let i = 0; i < 5; i++) r.record('Container/a', 'Normal', 'Step', `step ${i}`);
  assert.deepEqual(r.list('Container/a').map((e) => e.message), ['step 2', 'step 3', 'step 4']);
  r.record('Container/b', 'Normal', 'Step', 'b');
  r.record('Container/a', 'Normal', 'Step', 'step 5');
  r.record('Container/c', 'Normal', 'Step', 'c');
  assert.equal(r.size, 2);
  assert.deepEqual(r.list('Container/b'), [], 'b was recorded to least recently and went first');
  assert.equal(r.list('Container/a').length, 3);
  assert.equal(r.list('Container/c').length, 1);
});

test('forget drops a key; list returns copies', () => {
  const r = new MemoryEventRecorder();
  r.record('Container/a', 'Warning', 'Boom', 'boom');
  r.list('Container/a')[0]!.count = 99;
  assert.equal(r.list('Container/a')[0]!.count, 1);
  r.forget('Container/a');
  assert.deepEqual(r.list('Container/a'), []);
});
