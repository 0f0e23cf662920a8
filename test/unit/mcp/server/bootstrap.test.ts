import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { silentLogger } from '../../../../resources/log.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { ensureBootstrapToken, isLoopbackHost } from '../../../../mcp/server/index.ts';
import { tempDir } from '../../../support/manifests.ts';

test('loopback listeners are told apart from reachable ones', () => {
  for (const h of ['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
});

test('no bootstrap token is minted for a non-loopback listener, nor when tokens exist', async (t) => {
  const dir = await tempDir(t);
  const store = await ResourceStore.open();
  t.after(() => store.close());
  assert.deepEqual(await ensureBootstrapToken({ store, stateDir: dir, listenHost: '0.0.0.0', logger: silentLogger }), { action: 'none', reason: 'non-loopback listener' });
  assert.deepEqual(await readdir(dir), []);
  const created = await ensureBootstrapToken({ store, stateDir: dir, listenHost: '127.0.0.1', logger: silentLogger });
  assert.equal(created.action, 'created');
  assert.deepEqual((await readdir(dir)).sort(), ['bootstrap-accesstoken.json', 'bootstrap-token']);
  const fresh = await ResourceStore.open();
  t.after(() => fresh.close());
  fresh.upsert(store.list('AccessToken')[0]!);
  assert.equal((await ensureBootstrapToken({ store: fresh, stateDir: dir, listenHost: '127.0.0.1', logger: silentLogger })).action, 'loaded');
});
