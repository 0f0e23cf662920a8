import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { getCondition, MemoryEventRecorder, TerminalError } from '../../../../controllers/runtime/index.ts';
import { createAptBackend, PackageIndex, PackageReconciler, PackageUpdates } from '../../../../controllers/package/index.ts';
import { aptFailure, FakePackageBackend } from './fake-backend.ts';

async function setup(t: TestContext, backend = new FakePackageBackend(), indexIntervalMs = 60 * 60_000) {
  const store = await ResourceStore.open();
  t.after(() => store.close());
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const now = () => new Date(clock);
  const index = new PackageIndex({ backend, minIntervalMs: indexIntervalMs, now });
  const updates = new PackageUpdates({ backend, index, now });
  t.after(() => updates.close());
  const recorder = new MemoryEventRecorder({ now });
  const rec = new PackageReconciler({ store, backend, index, updates, recorder, now, hostLabels: () => ({ role: 'web' }) });
  const put = (name: string, spec: Record<string, unknown>) => store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name }, spec });
  const reconcile = (name: string) => rec.reconcile(`Package/${name}`, AbortSignal.timeout(5000));
  const status = (name: string) => store.get('Package', name)?.status;
  const ready = (name: string) => getCondition(status(name), 'Ready');
  return { store, backend, index, updates, recorder, put, reconcile, status, ready, advance: (ms: number) => (clock += ms) };
}

test('present installs the candidate and reports installedVersion, candidateVersion and upgradable', async (t) => {
  const s = await setup(t, new FakePackageBackend().offer('curl', '7.88', '7.89'));
  s.put('curl', { name: 'curl' });
  assert.deepEqual(await s.reconcile('curl'), {});
  assert.equal(s.backend.installed.get('curl'), '7.89');
  assert.deepEqual({ ...s.status('curl'), conditions: undefined, observedGeneration: undefined }, { installedVersion: '7.89', candidateVersion: '7.89', upgradable: false, conditions: undefined, observedGeneration: undefined });
  assert.equal(s.ready('curl')?.status, 'True');
  assert.equal(s.ready('curl')?.reason, 'Installed');
  assert.equal(s.recorder.list('Package/curl').at(-1)?.reason, 'Installed');
  assert.deepEqual(s.backend.calls.filter((c) => !c.startsWith('observe')), ['update', 'install curl', 'list-upgradable'], 'the first install refreshed the empty index once');
  s.backend.calls.length = 0;
  await s.reconcile('curl');
  assert.deepEqual(s.backend.calls, ['observe curl'], 'an installed package is only observed');
});

test('a pin installs, downgrades and keeps that version; upgradable says a newer candidate exists', async (t) => {
  const s = await setup(t, new FakePackageBackend().offer('curl', '1.0', '2.0'));
  await s.backend.updateIndex();
  s.backend.installed.set('curl', '2.0');
  s.put('curl', { name: 'curl', version: '1.0' });
  await s.reconcile('curl');
  assert.equal(s.backend.installed.get('curl'), '1.0');
  assert.equal(s.status('curl')?.upgradable, true);
  assert.equal(s.status('curl')?.candidateVersion, '2.0');
  assert.equal(s.ready('curl')?.reason, 'Installed');
  assert.match(s.recorder.list('Package/curl').at(-1)!.message, /downgraded curl 1.0 \(was 2.0\)/);
  assert.deepEqual(s.updates.snapshot().packages, [{ name: 'curl', installed: '1.0', candidate: '2.0', origin: 'fake:stable' }], 'the change refreshed the upgradable list');
});

test('latest refreshes the index within its interval and upgrades; UpToDate when nothing newer exists', async (t) => {
  const s = await setup(t, new FakePackageBackend().offer('curl', '1.0'));
  s.put('curl', { name: 'curl', state: 'latest' });
  await s.reconcile('curl');
  assert.equal(s.ready('curl')?.reason, 'UpToDate');
  assert.equal(s.backend.installed.get('curl'), '1.0');
  s.backend.offer('curl', '1.0', '1.1');
  await s.reconcile('curl');
  assert.equal(s.backend.installed.get('curl'), '1.0', 'the repository has 1.1, but the index is not refreshed again within the hour');
  assert.equal(s.backend.calls.filter((c) => c === 'update').length, 1);
  s.advance(60 * 60_000);
  await s.reconcile('curl');
  assert.equal(s.backend.installed.get('curl'), '1.1');
  assert.equal(s.ready('curl')?.reason, 'UpToDate');
  assert.equal(s.recorder.list('Package/curl').at(-1)?.reason, 'Upgraded');
});

test('absent removes an installed package and is Ready when it is gone', async (t) => {
  const s = await setup(t);
  s.backend.installed.set('telnet', '0.17');
  s.put('telnet', { name: 'telnet', state: 'absent' });
  await s.reconcile('telnet');
  assert.equal(s.backend.installed.has('telnet'), false);
  assert.equal(s.ready('telnet')?.reason, 'Absent');
  assert.equal(s.status('telnet')?.installedVersion, undefined);
  assert.equal(s.recorder.list('Package/telnet').at(-1)?.message, 'removed telnet 0.17');
});

test('a package no repository offers fails with PACKAGE_NOT_AVAILABLE (not terminal) and is installed once a repository adds it', async (t) => {
  const s = await setup(t, new FakePackageBackend(), 60_000);
  s.put('ghost', { name: 'ghost' });
  await assert.rejects(s.reconcile('ghost'), (err: Error & { code?: string }) => err.code === 'PACKAGE_NOT_AVAILABLE' && !(err instanceof TerminalError) && /Unable to locate package ghost/.test(err.message));
  await assert.rejects(s.reconcile('ghost'), { code: 'PACKAGE_NOT_AVAILABLE' });
  assert.equal(s.backend.calls.filter((c) => c === 'update').length, 1, 'retries do not run apt-get update again within the interval');
  assert.equal(getCondition(s.status('ghost'), 'Reconciling'), undefined, 'no Reconciling left behind after a failure');
  s.backend.offer('ghost', '1.0');
  s.advance(60_000);
  await s.reconcile('ghost');
  assert.equal(s.ready('ghost')?.reason, 'Installed');
});

test('a pinned version the repository lacks fails with apt\'s message', async (t) => {
  const s = await setup(t, new FakePackageBackend().offer('curl', '1.0'));
  s.put('curl', { name: 'curl', version: '3.0' });
  await assert.rejects(s.reconcile('curl'), (err: Error) => /Version '3.0' for 'curl' was not found/.test(err.message));
});

test('while the lock is held the status says so (Reconciling, WaitingForLock); the install finishes when it is released', async (t) => {
  const s = await setup(t, new FakePackageBackend().offer('curl', '1.0'));
  await s.backend.updateIndex();
  s.backend.lockedBy = 'unattended-upgr';
  s.put('curl', { name: 'curl' });
  const done = s.reconcile('curl');
  await new Promise((r) => setImmediate(r));
  const reconciling = getCondition(s.status('curl'), 'Reconciling');
  assert.equal(reconciling?.reason, 'WaitingForLock');
  assert.match(reconciling!.message!, /waiting for the package manager lock: .*held by process 4242 \(unattended-upgr\)/);
  assert.equal(s.ready('curl')?.status, 'Unknown');
  s.backend.releaseLock();
  await done;
  assert.equal(s.ready('curl')?.reason, 'Installed');
  assert.equal(getCondition(s.status('curl'), 'Reconciling'), undefined);
});

test('apt failures propagate with their code; a package manager that claims success without effect is an APT_FAILED', async (t) => {
  const s = await setup(t, new FakePackageBackend().offer('curl', '1.0'));
  await s.backend.updateIndex();
  s.put('curl', { name: 'curl' });
  s.backend.failNext = aptFailure('apt-get install curl failed (exit 100): E: Sub-process /usr/bin/dpkg returned an error code (1)');
  await assert.rejects(s.reconcile('curl'), (err: Error & { code?: string }) => err.code === 'APT_FAILED' && /dpkg returned an error code/.test(err.message));
  s.backend.ignoreChanges = true;
  await assert.rejects(s.reconcile('curl'), (err: Error & { code?: string }) => err.code === 'APT_FAILED' && /still not as declared \(not installed\)/.test(err.message));
});

test('a spec that bypassed the schema is refused as terminal before the backend sees it', async (t) => {
  const s = await setup(t);
  for (const [i, spec] of [{ name: '-o APT::Get::Yes=true' }, { name: 'foo;rm -rf /' }, { name: '../x' }, { name: 'Curl' }, { name: 'curl', version: '1.0 beta' }, { name: 'curl', version: '1.0', state: 'absent' }].entries()) {
    s.put(`bad${i}`, spec);
    await assert.rejects(s.reconcile(`bad${i}`), (err: Error) => err instanceof TerminalError && err.reason === 'PackageInvalid', JSON.stringify(spec));
  }
  assert.deepEqual(s.backend.calls, [], 'nothing reached the backend');
});

test('suspend only observes; a host selector that does not match does nothing', async (t) => {
  const s = await setup(t, new FakePackageBackend().offer('curl', '1.0'));
  s.put('curl', { name: 'curl', suspend: true });
  await s.reconcile('curl');
  assert.equal(s.ready('curl')?.reason, 'Suspended');
  assert.equal(s.backend.installed.has('curl'), false);
  s.put('curl', { name: 'curl', hostSelector: { matchLabels: { role: 'db' } } });
  await s.reconcile('curl');
  assert.equal(s.ready('curl')?.reason, 'HostNotSelected');
  assert.deepEqual(s.backend.calls, ['observe curl']);
});

test('on a host without apt the reconcile fails with APT_MISSING and says so', async (t) => {
  const backend = createAptBackend({ commands: { aptGet: '/nonexistent/apt-get', aptCache: '/nonexistent/apt-cache', dpkgQuery: '/nonexistent/dpkg-query' } });
  const store = await ResourceStore.open();
  t.after(() => store.close());
  const index = new PackageIndex({ backend });
  const rec = new PackageReconciler({ store, backend, index });
  store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'curl' }, spec: { name: 'curl' } });
  await assert.rejects(rec.reconcile('Package/curl', AbortSignal.timeout(5000)), (err: Error & { code?: string }) => err.code === 'APT_MISSING' && /dpkg-query is not installed on this host/.test(err.message));
});
