// The package controller against real apt and dpkg: packages built with dpkg-deb, served from a local
// file: repository, installed into and removed from this machine's dpkg database. apt reads only the
// test repository (its own sources list, lists and cache; see test/support/apt-repo.ts). Lock tests
// run in a private dpkg root, so holding "the" lock never blocks the machine's own apt.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../../mcp/agent.ts';
import { API_VERSION } from '../../resources/kinds.ts';
import { silentLogger } from '../../resources/log.ts';
import { ResourceStore } from '../../resources/store.ts';
import type { Condition } from '../../resources/types.ts';
import { ControllerManager, getCondition } from '../../controllers/runtime/index.ts';
import { createAptBackend, createPackageController, type PackageController } from '../../controllers/package/index.ts';
import {
  APT_HINT,
  aptAvailable,
  createAptRepo,
  createDpkgSandbox,
  holdDpkgLock,
  installedVersion,
  lockHolderAvailable,
  purgeTestPackages,
  type AptRepo,
} from '../support/apt-repo.ts';
import { tempDir } from '../support/manifests.ts';
import { requirePart } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const HELLO = 'systemmanager-test-hello';
const EXTRA = 'systemmanager-test-extra';
const LATER = 'systemmanager-test-later';
const ALL = [EXTRA, HELLO, LATER];
const WAIT = { timeoutMs: 90_000, intervalMs: 50 };

interface Harness {
  store: ResourceStore;
  manager: ControllerManager;
  packages: PackageController;
  put(name: string, spec: Record<string, unknown>): void;
  /** settled waits until the status describes the current spec and Ready has `reason`, and returns Ready. */
  settled(name: string, reason: string): Promise<Condition>;
  status(name: string): Record<string, unknown> | undefined;
}

async function harness(t: TestContext, backendOpts: Parameters<typeof createAptBackend>[0], indexIntervalMs = 60 * 60_000): Promise<Harness> {
  const store = await ResourceStore.open();
  const manager = new ControllerManager({ store, logger: silentLogger });
  const packages = createPackageController(manager, {
    store,
    backend: createAptBackend(backendOpts),
    indexIntervalMs,
    controller: { backoffBaseMs: 100, backoffMaxMs: 1000 },
  });
  t.after(async () => {
    await manager.stop();
    await packages.stop();
    await store.close();
  });
  manager.start();
  const status = (name: string) => store.get('Package', name)?.status;
  return {
    store,
    manager,
    packages,
    status,
    put: (name, spec) => store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name }, spec }),
    settled: (name, reason) =>
      waitFor(
        () => {
          const o = store.get('Package', name);
          const ready = getCondition(o?.status, 'Ready');
          return o && o.status?.observedGeneration === o.metadata.generation && ready?.reason === reason ? ready : undefined;
        },
        { ...WAIT, message: `Package/${name} Ready reason ${reason} (now ${JSON.stringify(getCondition(store.get('Package', name)?.status, 'Ready'))})` },
      ),
  };
}

async function repository(t: TestContext): Promise<AptRepo> {
  const repo = await createAptRepo(t, [
    { name: HELLO, version: '1.0' },
    { name: HELLO, version: '2.0' },
    { name: EXTRA, version: '1.0', depends: HELLO },
  ]);
  await purgeTestPackages(ALL);
  t.after(() => purgeTestPackages(ALL));
  return repo;
}

test('Package with real apt/dpkg: pin, upgradable list, latest, refused names, dependencies, absent, a package added later', async (t) => {
  if (!(await requirePart(t, 'apt/dpkg with dpkg-dev', aptAvailable, APT_HINT))) return;
  const repo = await repository(t);
  const h = await harness(t, { aptOptions: repo.aptOptions, lockTimeoutSec: 60 }, 1000);

  await t.test('present with a pin installs that version and shows the newer candidate', async () => {
    h.put('hello', { name: HELLO, version: '1.0' });
    const ready = await h.settled('hello', 'Installed');
    assert.equal(ready.status, 'True');
    assert.equal(await installedVersion(HELLO), '1.0', 'dpkg has it');
    assert.equal(h.status('hello')?.installedVersion, '1.0');
    assert.equal(h.status('hello')?.candidateVersion, '2.0');
    assert.equal(h.status('hello')?.upgradable, true);
  });

  await t.test('the upgradable list names the package, both versions and the origin, and reads never wait', async () => {
    const snap = await h.packages.updates.refresh();
    assert.equal(snap.error, undefined);
    const hello = snap.packages.find((p) => p.name === HELLO);
    assert.deepEqual(hello, { name: HELLO, installed: '1.0', candidate: '2.0', origin: 'localhost', architecture: 'all' });
    assert.deepEqual(h.packages.updates.snapshot().packages.find((p) => p.name === HELLO), hello);
  });

  await t.test('a pin the repository lacks reports apt\'s own message and keeps what is installed', async () => {
    h.put('hello', { name: HELLO, version: '3.0' });
    const ready = await h.settled('hello', 'PackageNotAvailable');
    assert.equal(ready.status, 'False');
    assert.match(ready.message!, /E: Version '3\.0' for 'systemmanager-test-hello' was not found/);
    assert.equal(await installedVersion(HELLO), '1.0');
  });

  await t.test('latest upgrades to the candidate and then is UpToDate', async () => {
    h.put('hello', { name: HELLO, state: 'latest' });
    await h.settled('hello', 'UpToDate');
    assert.equal(await installedVersion(HELLO), '2.0');
    assert.equal(h.status('hello')?.upgradable, false);
    assert.equal(h.packages.updates.snapshot().packages.some((p) => p.name === HELLO), false, 'the controller refreshed the list after the upgrade');
    assert.ok(h.manager.recorder.list('Package/hello').some((e) => e.reason === 'Upgraded' && /upgraded systemmanager-test-hello 2\.0 \(was 1\.0\)/.test(e.message)));
  });

  await t.test('names apt would read as a regex or as a "remove" suffix change nothing', async () => {
    h.put('suffix', { name: `${HELLO}-` });
    h.put('regex', { name: 'systemmanager-test-ext.a' });
    h.put('regex-absent', { name: 'systemmanager-test-h.llo', state: 'absent' });
    assert.match((await h.settled('suffix', 'PackageNotAvailable')).message!, /apt knows no package named systemmanager-test-hello-/);
    assert.match((await h.settled('regex', 'PackageNotAvailable')).message!, /apt knows no package named systemmanager-test-ext\.a/);
    await h.settled('regex-absent', 'Absent');
    assert.equal(await installedVersion(HELLO), '2.0', 'hello was not removed by "hello-" or by the regex h.llo');
    assert.equal(await installedVersion(EXTRA), undefined, 'extra was not installed by the regex ext.a');
    for (const n of ['suffix', 'regex', 'regex-absent']) h.store.delete('Package', n);
  });

  await t.test('a removal that would take another package with it is refused', async () => {
    h.put('extra', { name: EXTRA });
    await h.settled('extra', 'Installed');
    h.put('hello', { name: HELLO, state: 'absent' });
    const ready = await h.settled('hello', 'AptFailed');
    assert.match(ready.message!, /removing systemmanager-test-hello would also remove systemmanager-test-extra/);
    assert.equal(await installedVersion(EXTRA), '1.0');
    assert.equal(await installedVersion(HELLO), '2.0');
  });

  await t.test('absent removes both once both are declared absent', async () => {
    h.put('extra', { name: EXTRA, state: 'absent' });
    await h.settled('extra', 'Absent');
    await h.settled('hello', 'Absent');
    assert.equal(await installedVersion(HELLO), undefined);
    assert.equal(await installedVersion(EXTRA), undefined);
    assert.equal(h.status('hello')?.installedVersion, undefined);
    assert.equal(h.status('hello')?.candidateVersion, '2.0');
  });

  await t.test('a package no repository offers is retried with backoff and installed once the repository adds it', async () => {
    h.put('later', { name: LATER });
    const ready = await h.settled('later', 'PackageNotAvailable');
    assert.match(ready.message!, /apt knows no package named systemmanager-test-later/);
    assert.equal(getCondition(h.status('later'), 'Stalled'), undefined, 'not terminal');
    await waitFor(() => h.packages.controller.queue.numRequeues('Package/later') >= 2, { ...WAIT, message: 'retried' });
    await repo.add([{ name: LATER, version: '1.0' }]);
    await h.settled('later', 'Installed');
    assert.equal(await installedVersion(LATER), '1.0');
  });
});

test('Package waits for a held dpkg lock, says so, and installs once it is released (private dpkg root)', async (t) => {
  if (!(await requirePart(t, 'apt/dpkg with dpkg-dev', aptAvailable, APT_HINT))) return;
  if (!(await requirePart(t, 'perl (to hold the dpkg lock)', lockHolderAvailable, 'perl on x86_64 or aarch64 Linux'))) return;
  const repo = await createAptRepo(t, [{ name: HELLO, version: '1.0' }]);
  const sandbox = await createDpkgSandbox(repo.dir);
  const realBefore = await installedVersion(HELLO);
  const h = await harness(t, { aptOptions: [...repo.aptOptions, ...sandbox.aptOptions], dpkgAdminDir: sandbox.adminDir, lockTimeoutSec: 60 });
  const holder = await holdDpkgLock(t, sandbox.adminDir);

  h.put('hello', { name: HELLO });
  const waiting = await waitFor(() => {
    const c = getCondition(h.status('hello'), 'Reconciling');
    return c?.reason === 'WaitingForLock' ? c : undefined;
  }, { ...WAIT, message: 'Reconciling=WaitingForLock' });
  assert.match(waiting.message!, new RegExp(`waiting for the package manager lock: Could not get lock .*lock-frontend\\. It is held by process ${holder.pid} \\(perl\\).*waits up to 60 s`));
  assert.equal(getCondition(h.status('hello'), 'Ready')?.status, 'Unknown');
  assert.equal(await installedVersion(HELLO, sandbox.adminDir), undefined, 'nothing installed while the lock is held');

  await holder.release();
  await h.settled('hello', 'Installed');
  assert.equal(await installedVersion(HELLO, sandbox.adminDir), '1.0', 'installed in the private root');
  assert.equal(getCondition(h.status('hello'), 'Reconciling'), undefined);
  assert.equal(await installedVersion(HELLO), realBefore, "the machine's dpkg database is untouched");
});

test('Package gives up after the lock timeout with a clear message, changes nothing, and recovers (private dpkg root)', async (t) => {
  if (!(await requirePart(t, 'apt/dpkg with dpkg-dev', aptAvailable, APT_HINT))) return;
  if (!(await requirePart(t, 'perl (to hold the dpkg lock)', lockHolderAvailable, 'perl on x86_64 or aarch64 Linux'))) return;
  const repo = await createAptRepo(t, [{ name: HELLO, version: '1.0' }]);
  const sandbox = await createDpkgSandbox(repo.dir);
  const h = await harness(t, { aptOptions: [...repo.aptOptions, ...sandbox.aptOptions], dpkgAdminDir: sandbox.adminDir, lockTimeoutSec: 1 });
  const holder = await holdDpkgLock(t, sandbox.adminDir);

  h.put('hello', { name: HELLO });
  const locked = await h.settled('hello', 'AptLocked');
  assert.equal(locked.status, 'False');
  assert.match(locked.message!, /gave up waiting 1 s for the dpkg lock held by another process: E: Unable to acquire the dpkg frontend lock/);
  assert.match(locked.message!, new RegExp(`held by process ${holder.pid} \\(perl\\)`));
  assert.equal(getCondition(h.status('hello'), 'Reconciling'), undefined, 'no "waiting" left behind');
  assert.equal(await installedVersion(HELLO, sandbox.adminDir), undefined);

  await holder.release();
  await h.settled('hello', 'Installed');
  assert.equal(await installedVersion(HELLO, sandbox.adminDir), '1.0');
});

test('an agent on a host without apt keeps running; its Packages say apt is missing', async (t) => {
  const manifests = await tempDir(t);
  const state = await tempDir(t);
  await writeFile(
    join(manifests, 'packages.yaml'),
    ['apiVersion: systemmanager.io/v1alpha1', 'kind: Package', 'metadata:', '  name: jq', 'spec:', '  name: jq', ''].join('\n'),
  );
  const missing = '/nonexistent/systemmanager-test';
  const agent = await Agent.start({
    manifestsDir: manifests,
    stateDir: state,
    listen: { host: '127.0.0.1', port: 0 },
    hostName: 'no-apt',
    dockerSocket: join(state, 'no-docker.sock'),
    packageBackend: createAptBackend({ commands: { aptGet: `${missing}/apt-get`, aptCache: `${missing}/apt-cache`, dpkgQuery: `${missing}/dpkg-query` } }),
  });
  t.after(() => agent.stop());
  const ready = await waitFor(() => {
    const c = getCondition(agent.store.get('Package', 'jq')?.status, 'Ready');
    return c?.reason === 'AptMissing' ? c : undefined;
  }, WAIT);
  assert.equal(ready.status, 'False');
  assert.match(ready.message!, /dpkg-query is not installed on this host/);
  assert.equal((await fetch(`${agent.url}/healthz`)).status, 200);
  agent.packages.updates.snapshot();
  const snap = await waitFor(() => {
    const s = agent.packages.updates.snapshot();
    return s.error ? s : undefined;
  }, WAIT);
  assert.match(snap.error!, /apt-get is not installed on this host/);
  assert.deepEqual(snap.packages, []);
});
