import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceStore, type WatchEvent } from '../../../resources/store.ts';
import { API_VERSION } from '../../../resources/kinds.ts';
import type { DesiredResource } from '../../../resources/types.ts';

function container(name: string, image = 'busybox:1'): DesiredResource {
  return { apiVersion: API_VERSION, kind: 'Container', metadata: { name }, spec: { image } };
}

async function tempDir(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sm-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('generation moves only when spec changes; resourceVersion on every write', async () => {
  const store = await ResourceStore.open();
  const a = store.upsert(container('web')).object;
  assert.equal(a.metadata.generation, 1);
  assert.equal(store.upsert(container('web')).change, 'unchanged');
  const labelled = store.upsert({ ...container('web'), metadata: { name: 'web', labels: { tier: 'front' } } }).object;
  assert.equal(labelled.metadata.generation, 1, 'a label change is not a spec change');
  assert.notEqual(labelled.metadata.resourceVersion, a.metadata.resourceVersion);
  const b = store.upsert(container('web', 'busybox:2')).object;
  assert.equal(b.metadata.generation, 2);
  const c = store.updateStatus('Container', 'web', { observedGeneration: 2, state: 'running' });
  assert.equal(c.metadata.generation, 2, 'status writes never bump generation');
  assert.ok(Number(c.metadata.resourceVersion) > Number(b.metadata.resourceVersion));
  assert.equal(c.metadata.uid, a.metadata.uid);
});

test('a write with a stale resourceVersion is refused with CONFLICT and changes nothing', async () => {
  const store = await ResourceStore.open();
  const first = store.upsert(container('web')).object;
  store.updateStatus('Container', 'web', { state: 'running' });
  assert.throws(() => store.upsert(container('web', 'busybox:2'), { expectedResourceVersion: first.metadata.resourceVersion }), (err: Error & { code?: string }) => err.code === 'CONFLICT' && /modified/.test(err.message));
  assert.throws(() => store.updateStatus('Container', 'web', { state: 'exited' }, { expectedResourceVersion: first.metadata.resourceVersion }), { code: 'CONFLICT' });
  assert.throws(() => store.delete('Container', 'web', { expectedResourceVersion: '0' }), { code: 'CONFLICT' });
  assert.equal(store.get('Container', 'web')!.spec.image, 'busybox:1');
  assert.equal(store.get('Container', 'web')!.status!.state, 'running');
});

test('create refuses an existing name; stored objects are frozen', async () => {
  const store = await ResourceStore.open();
  const obj = store.create(container('web'));
  assert.throws(() => store.create(container('web')), { code: 'ALREADY_EXISTS' });
  assert.throws(() => {
    (obj.spec as Record<string, unknown>).image = 'evil';
  }, TypeError);
});

test('watch events say whether spec or only status changed', async () => {
  const store = await ResourceStore.open();
  const events: Array<Pick<WatchEvent, 'type' | 'key' | 'specChanged' | 'statusChanged'>> = [];
  const stop = store.watch((e) => events.push({ type: e.type, key: e.key, specChanged: e.specChanged, statusChanged: e.statusChanged }));
  store.upsert(container('web'));
  store.updateStatus('Container', 'web', { state: 'running' });
  store.updateStatus('Container', 'web', { state: 'running' }); // identical: no event
  store.upsert(container('web', 'busybox:2'));
  store.delete('Container', 'web');
  stop();
  store.upsert(container('after'));
  assert.deepEqual(events, [
    { type: 'ADDED', key: 'Container/web', specChanged: true, statusChanged: false },
    { type: 'MODIFIED', key: 'Container/web', specChanged: false, statusChanged: true },
    { type: 'MODIFIED', key: 'Container/web', specChanged: true, statusChanged: false },
    { type: 'DELETED', key: 'Container/web', specChanged: true, statusChanged: false },
  ]);
});

test('a throwing listener does not break the store or other listeners', async () => {
  const store = await ResourceStore.open();
  let seen = 0;
  store.watch(() => {
    throw new Error('listener bug');
  });
  store.watch(() => seen++);
  const warned = new Promise((resolve) => process.once('warning', resolve));
  store.upsert(container('web'));
  assert.equal(seen, 1);
  assert.match(String((await warned as Error).message), /listener bug/);
});

test('status, identity and server-owned objects survive a restart', async (t) => {
  const stateDir = await tempDir(t);
  const one = await ResourceStore.open({ stateDir });
  const web = one.upsert(container('web')).object;
  one.upsert(container('web', 'busybox:2'));
  one.updateStatus('Container', 'web', { observedGeneration: 2, state: 'running' });
  one.create({ apiVersion: API_VERSION, kind: 'Proposal', metadata: { name: 'p-1' }, spec: { reason: 'x', changes: [] } });
  await one.close();
  assert.deepEqual((await readdir(join(stateDir, 'resources'))).sort(), ['Container', 'Proposal']);

  const two = await ResourceStore.open({ stateDir });
  assert.ok(two.get('Proposal', 'p-1'), 'server-owned kinds are live at once');
  assert.equal(two.get('Container', 'web'), undefined, 'manifest kinds wait for their manifest');
  const again = two.upsert(container('web', 'busybox:2')).object;
  assert.equal(again.metadata.uid, web.metadata.uid);
  assert.equal(again.metadata.generation, 2, 'same spec as before the restart: same generation');
  assert.equal(again.status?.state, 'running');
  assert.ok(Number(again.metadata.resourceVersion) > 4, 'resourceVersion keeps counting up across restarts');

  // A manifest kind that does not come back on the first full load is forgotten.
  two.setSourceState({ synced: true, empty: false, pruneAllowed: true });
  await two.close();
  const three = await ResourceStore.open({ stateDir });
  three.upsert(container('web', 'busybox:3'));
  assert.equal(three.get('Container', 'web')!.metadata.generation, 3);
});

test('a failed flush reports STATE_IO and keeps the write pending', async (t) => {
  const stateDir = await tempDir(t);
  const store = await ResourceStore.open({ stateDir });
  // A file where the kind's directory should be makes every write there fail, even for root.
  await writeFile(join(stateDir, 'resources', 'Proposal'), 'not a directory');
  store.upsert({ apiVersion: API_VERSION, kind: 'Proposal', metadata: { name: 'p' }, spec: {} });
  await assert.rejects(store.flush(), (err: Error & { code?: string }) => err.code === 'STATE_IO' && /cannot write 1 record/.test(err.message));
  await rm(join(stateDir, 'resources', 'Proposal'));
  await store.flush();
  assert.deepEqual(await readdir(join(stateDir, 'resources', 'Proposal')), ['p.json']);
});
