import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { silentLogger } from '../../../../resources/log.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { ControllerManager, getCondition } from '../../../../controllers/runtime/index.ts';
import { createPackageController } from '../../../../controllers/package/index.ts';
import { waitFor } from '../../../support/wait.ts';
import { FakePackageBackend } from './fake-backend.ts';

test('the controller backs off on a package nobody offers and installs it by itself once a repository does', async (t) => {
  const store = await ResourceStore.open();
  const manager = new ControllerManager({ store, logger: silentLogger });
  const backend = new FakePackageBackend();
  const packages = createPackageController(manager, { store, backend, indexIntervalMs: 1, controller: { backoffBaseMs: 5, backoffMaxMs: 40 } });
  t.after(async () => {
    await manager.stop();
    await packages.stop();
    await store.close();
  });
  manager.start();
  store.upsert({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'later' }, spec: { name: 'systemmanager-test-later' } });
  const notReady = await waitFor(() => {
    const ready = getCondition(store.get('Package', 'later')?.status, 'Ready');
    return ready?.reason === 'PackageNotAvailable' ? ready : undefined;
  });
  assert.equal(notReady.status, 'False');
  assert.match(notReady.message!, /Unable to locate package systemmanager-test-later/);
  assert.equal(getCondition(store.get('Package', 'later')?.status, 'Stalled'), undefined, 'not terminal: a repository may add it later');
  await waitFor(() => backend.calls.filter((c) => c.startsWith('install')).length >= 3, { message: 'retried with backoff' });
  backend.offer('systemmanager-test-later', '1.0');
  const ready = await waitFor(() => {
    const c = getCondition(store.get('Package', 'later')?.status, 'Ready');
    return c?.status === 'True' ? c : undefined;
  });
  assert.equal(ready.reason, 'Installed');
  assert.equal(store.get('Package', 'later')?.status?.installedVersion, '1.0');
  assert.ok(manager.recorder.list('Package/later').some((e) => e.type === 'Warning' && e.reason === 'PackageNotAvailable'));
});
