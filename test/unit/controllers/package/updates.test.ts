import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageIndex, PackageUpdates, type UpgradablePackage } from '../../../../controllers/package/index.ts';
import { FakePackageBackend } from './fake-backend.ts';

test('snapshot answers at once from the cache, even while apt is busy, and starts one background refresh when stale', async (t) => {
  const backend = new FakePackageBackend().offer('curl', '2.0');
  backend.installed.set('curl', '1.0');
  let finish: (list: UpgradablePackage[]) => void = () => {};
  let listings = 0;
  backend.listUpgradable = () => {
    listings += 1;
    return new Promise((resolve) => (finish = resolve));
  };
  const index = new PackageIndex({ backend, minIntervalMs: 0 });
  const updates = new PackageUpdates({ backend, index });
  t.after(async () => {
    finish([]);
    await updates.close();
  });
  const first = updates.snapshot();
  assert.deepEqual(first, { packages: [], stale: true, refreshing: true }, 'nothing known yet, and a check is under way');
  updates.snapshot();
  await new Promise((r) => setImmediate(r));
  assert.equal(updates.snapshot().refreshing, true, 'apt is still busy: the read still answers');
  assert.equal(listings, 1, 'a second read does not start a second check');
  finish([{ name: 'curl', installed: '1.0', candidate: '2.0', origin: 'fake:stable' }]);
  await new Promise((r) => setImmediate(r));
  const second = updates.snapshot();
  assert.equal(second.stale, false);
  assert.equal(second.refreshing, false);
  assert.deepEqual(second.packages.map((p) => p.name), ['curl']);
  assert.ok(second.checkedAt);
  assert.equal(backend.calls.includes('update'), false, 'index interval 0: apt-get update never runs');
});

test('a failed check keeps the previous list and reports the error', async (t) => {
  const backend = new FakePackageBackend().offer('curl', '2.0');
  await backend.updateIndex();
  backend.installed.set('curl', '1.0');
  const updates = new PackageUpdates({ backend, index: new PackageIndex({ backend, minIntervalMs: 0 }) });
  t.after(() => updates.close());
  assert.equal((await updates.refresh()).packages.length, 1);
  backend.listUpgradable = async () => {
    throw new Error('apt-get is not installed on this host');
  };
  updates.invalidate();
  const snap = await updates.refresh();
  assert.equal(snap.error, 'apt-get is not installed on this host');
  assert.equal(snap.packages.length, 1, 'the last good list is kept');
});

test('the index policy runs apt-get update at most once per interval, counting failed attempts, and never with interval 0', async () => {
  const backend = new FakePackageBackend();
  let clock = 0;
  const index = new PackageIndex({ backend, minIntervalMs: 1000, now: () => new Date(clock) });
  assert.equal(await index.refreshIfDue(), true);
  assert.equal(await index.refreshIfDue(), false);
  clock = 999;
  assert.equal(index.due, false);
  clock = 1000;
  backend.updateIndex = async () => {
    throw new Error('E: Failed to fetch');
  };
  assert.equal(await index.refreshIfDue(), false);
  assert.equal(index.lastError, 'E: Failed to fetch');
  assert.equal(index.due, false, 'a failed attempt also waits out the interval');
  assert.equal(new PackageIndex({ backend, minIntervalMs: 0 }).due, false);
  assert.throws(() => new PackageIndex({ backend, minIntervalMs: -1 }), RangeError);
});
