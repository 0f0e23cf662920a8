import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceStore } from '../../../../resources/store.ts';
import { getCondition } from '../../../../controllers/runtime/index.ts';
import { ensureImage, ImageReconciler } from '../../../../controllers/image/index.ts';
import { FakeDockerEngine } from '../../../support/docker-fake.ts';

test('ensureImage follows the pull policy', async () => {
  const engine = new FakeDockerEngine();
  engine.addImage('local:1', 'sha256:aaaa');
  assert.equal((await ensureImage(engine, 'local:1', 'Never')).image.id, 'sha256:aaaa');
  assert.equal((await ensureImage(engine, 'local:1', 'IfNotPresent')).pulledAt, undefined);
  assert.deepEqual(engine.calls, [], 'present images are not pulled unless Always');
  await assert.rejects(ensureImage(engine, 'gone:1', 'Never'), { code: 'IMAGE_NOT_PRESENT' });
  await assert.rejects(ensureImage(engine, 'gone:1', 'IfNotPresent'), { code: 'IMAGE_PULL_FAILED' });
  engine.pullable.set('local:1', 'sha256:bbbb');
  const always = await ensureImage(engine, 'local:1', 'Always', undefined, () => new Date('2025-01-01T00:00:00Z'));
  assert.equal(always.image.id, 'sha256:bbbb');
  assert.equal(always.pulledAt, '2025-01-01T00:00:00.000Z');
  assert.deepEqual(engine.calls, ['pull gone:1', 'pull local:1']);
});

test('ImageReconciler reports the present image, and a failed pull as an error with the daemon message', async (t) => {
  const store = await ResourceStore.open();
  t.after(() => store.close());
  const engine = new FakeDockerEngine();
  const rec = new ImageReconciler({ store, engine });
  store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Image', metadata: { name: 'app' }, spec: { reference: 'app:1' } });
  await assert.rejects(rec.reconcile('Image/app', AbortSignal.timeout(1000)), (err: Error & { code?: string }) => err.code === 'IMAGE_PULL_FAILED' && /no such host/.test(err.message));
  assert.equal(store.get('Image', 'app')?.status?.id, undefined);
  engine.pullable.set('app:1', 'sha256:cccc');
  assert.deepEqual(await rec.reconcile('Image/app', AbortSignal.timeout(1000)), {});
  const st = store.get('Image', 'app')!.status!;
  assert.equal(st.id, 'sha256:cccc');
  assert.equal(st.size, 99);
  assert.match(String(st.digest), /^app@sha256:a{64}$/);
  assert.ok(st.pulledAt);
  assert.equal(getCondition(st, 'Ready')?.status, 'True');
  engine.calls.length = 0;
  await rec.reconcile('Image/app', AbortSignal.timeout(1000));
  assert.deepEqual(engine.calls, [], 'IfNotPresent does not pull a present image again');
  store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Image', metadata: { name: 'app' }, spec: { reference: 'app:1', suspend: true } });
  await rec.reconcile('Image/app', AbortSignal.timeout(1000));
  assert.equal(getCondition(store.get('Image', 'app')!.status, 'Ready')?.reason, 'Suspended');
});
