import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceStore } from '../../../../resources/store.ts';
import { silentLogger } from '../../../../resources/log.ts';
import { ControllerManager, getCondition } from '../../../../controllers/runtime/index.ts';
import { createTokenController, formatToken, mintToken, parseToken, TokenIndex, TokenReconciler, type AccessTokenSpec } from '../../../../controllers/token/index.ts';
import { waitFor } from '../../../support/wait.ts';

const T0 = Date.parse('2025-06-01T00:00:00Z');

/** A clock tests move by hand. */
function manualClock(start = T0): { now: () => Date; set(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), set: (ms) => void (t = ms) };
}

async function openStore(t: TestContext): Promise<ResourceStore> {
  const store = await ResourceStore.open();
  t.after(() => store.close());
  return store;
}

/** put mints a token for `agent` into the store and returns its bearer token and resource name. */
function put(store: ResourceStore, agent: string, spec: Partial<AccessTokenSpec> = {}, opts: { ttlMs?: number; now?: () => Date; name?: string } = {}) {
  const minted = mintToken({ agent, scopes: spec.scopes ?? ['readonly'], ttlMs: opts.ttlMs, now: opts.now, name: opts.name });
  const resource = { ...minted.resource, spec: { ...minted.resource.spec, ...spec } };
  store.upsert(resource);
  return { token: minted.token, name: resource.metadata.name, id: resource.spec.id, resource };
}

function flipLastChar(token: string): string {
  const last = token.at(-1)!;
  return `${token.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
}

test('verify accepts the minted token and refuses missing, malformed, unknown and mismatched ones', async (t) => {
  const store = await openStore(t);
  const index = new TokenIndex(store);
  t.after(() => index.close());
  const { token, id } = put(store, 'claude', { scopes: ['readonly', 'container:write'] });

  const ok = index.verify(token);
  assert.equal(ok.ok, true);
  assert.ok(ok.ok);
  assert.deepEqual(ok.principal.identity, { agent: 'claude', tokenId: id });
  assert.ok(ok.principal.scopes.has('system:read') && ok.principal.scopes.has('metrics:read'), 'readonly expands to every :read scope');
  assert.ok(ok.principal.scopes.has('container:write'));
  assert.ok(!ok.principal.scopes.has('system:admin'));

  const { secret } = parseToken(token)!;
  const reason = (bearer: string | undefined) => {
    const v = index.verify(bearer);
    return v.ok ? 'ok' : v.reason;
  };
  assert.equal(reason(undefined), 'missing');
  assert.equal(reason(''), 'missing');
  assert.equal(reason('garbage'), 'malformed');
  assert.equal(reason(token.slice(0, -1)), 'malformed', 'truncated');
  assert.equal(reason(`${token}x`), 'malformed', 'one character too many');
  assert.equal(reason(`Bearer ${token}`), 'malformed');
  assert.equal(reason(formatToken('zzzzzzzz', secret)), 'unknown', 'right secret, unknown id');
  assert.equal(reason(flipLastChar(token)), 'mismatch', 'one flipped character of the secret');
  const bytes = Buffer.from(secret, 'base64url');
  bytes[0]! ^= 0x01;
  assert.equal(reason(formatToken(id, bytes.toString('base64url'))), 'mismatch', 'one flipped bit of the secret');
  assert.equal(reason(token), 'ok', 'the refusals changed nothing');
});

test('a revoked or deleted token stops working at once, before any reconcile', async (t) => {
  const store = await openStore(t);
  const manager = new ControllerManager({ store, logger: silentLogger });
  const tokens = createTokenController(manager, { store });
  t.after(() => tokens.close());
  // The manager is never started: nothing but the store's watch event can update the index.
  const a = put(store, 'a');
  const b = put(store, 'b');
  assert.equal(tokens.index.verify(a.token).ok, true);
  assert.equal(tokens.index.verify(b.token).ok, true);

  store.upsert({ ...a.resource, spec: { ...a.resource.spec, revoked: true } });
  assert.deepEqual(tokens.index.verify(a.token), { ok: false, reason: 'revoked' });
  store.delete('AccessToken', b.name);
  assert.deepEqual(tokens.index.verify(b.token), { ok: false, reason: 'unknown' });

  store.upsert(a.resource); // un-revoked in git
  assert.equal(tokens.index.verify(a.token).ok, true);
});

test('a token stops at exactly expiresAt, and the controller looks again exactly then', async (t) => {
  const store = await openStore(t);
  const clock = manualClock();
  const index = new TokenIndex(store, { now: clock.now });
  t.after(() => index.close());
  const rec = new TokenReconciler({ store, index, now: clock.now });
  const tok = put(store, 'ci', {}, { ttlMs: 3600_000, now: clock.now });
  const key = `AccessToken/${tok.name}`;

  assert.deepEqual(await rec.reconcile(key), { requeueAfterMs: 3600_000 });
  let st = store.getByKey(key)!.status!;
  assert.equal(st.expired, false);
  assert.equal(getCondition(st, 'Ready')?.status, 'True');
  assert.equal(getCondition(st, 'Ready')?.reason, 'Active');

  clock.set(T0 + 3600_000 - 1);
  assert.equal(index.verify(tok.token).ok, true, 'one millisecond before expiry it still works');
  assert.deepEqual(await rec.reconcile(key), { requeueAfterMs: 1 });
  clock.set(T0 + 3600_000);
  assert.deepEqual(index.verify(tok.token), { ok: false, reason: 'expired' }, 'refused at expiry even before the status says so');
  assert.deepEqual(await rec.reconcile(key), {});
  st = store.getByKey(key)!.status!;
  assert.equal(st.expired, true);
  assert.equal(getCondition(st, 'Ready')?.status, 'False');
  assert.equal(getCondition(st, 'Ready')?.reason, 'Expired');
  assert.match(getCondition(st, 'Ready')!.message!, /expired at 2025-06-01T01:00:00Z/);
});

test('a token whose expiry is already past is reported Expired and never authenticates', async (t) => {
  const store = await openStore(t);
  const manager = new ControllerManager({ store, logger: silentLogger });
  const tokens = createTokenController(manager, { store });
  t.after(() => tokens.close());
  manager.start();
  t.after(() => manager.stop());
  const tok = put(store, 'old', { expiresAt: '2001-01-01T00:00:00Z' });
  assert.deepEqual(tokens.index.verify(tok.token), { ok: false, reason: 'expired' });
  const ready = await waitFor(() => getCondition(store.get('AccessToken', tok.name)?.status, 'Ready'));
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'Expired');
  assert.equal(store.get('AccessToken', tok.name)!.status!.expired, true);
  assert.equal(manager.recorder.list(`AccessToken/${tok.name}`)[0]?.reason, 'Expired', 'a Warning event says so too');
  // Revocation outranks expiry in what verify reports, since both refuse anyway.
  store.upsert({ ...tok.resource, spec: { ...tok.resource.spec, revoked: true } });
  assert.deepEqual(tokens.index.verify(tok.token), { ok: false, reason: 'revoked' });
});

test('two AccessTokens with the same id are both refused and both report DuplicateId until one goes', async (t) => {
  const store = await openStore(t);
  const manager = new ControllerManager({ store, logger: silentLogger });
  const tokens = createTokenController(manager, { store });
  t.after(() => tokens.close());
  manager.start();
  t.after(() => manager.stop());
  const first = put(store, 'a', {}, { name: 'first' });
  await waitFor(() => getCondition(store.get('AccessToken', 'first')?.status, 'Ready')?.reason === 'Active');
  // A copy of the same manifest under another name, even with another hash, makes the id ambiguous.
  store.upsert({ ...first.resource, metadata: { name: 'second' }, spec: { ...first.resource.spec, tokenHash: 'b'.repeat(64) } });
  assert.deepEqual(tokens.index.verify(first.token), { ok: false, reason: 'unknown' }, 'never a guess between the two');
  for (const [name, other] of [['first', 'second'], ['second', 'first']] as const) {
    const ready = await waitFor(() => {
      const c = getCondition(store.get('AccessToken', name)?.status, 'Ready');
      return c?.reason === 'DuplicateId' ? c : undefined;
    });
    assert.equal(ready.status, 'False');
    assert.match(ready.message!, new RegExp(`AccessToken/${other}\\b`));
  }
  store.delete('AccessToken', 'second');
  assert.equal(tokens.index.verify(first.token).ok, true);
  await waitFor(() => getCondition(store.get('AccessToken', 'first')?.status, 'Ready')?.reason === 'Active', { message: 'first is Active again' });
});

test('a hash that is not 64 hex digits (a resource that skipped validation) never authenticates and is reported', async (t) => {
  const store = await openStore(t);
  const index = new TokenIndex(store);
  t.after(() => index.close());
  const rec = new TokenReconciler({ store, index });
  const tok = put(store, 'a', { tokenHash: 'ABC' }, { name: 'bad' });
  assert.deepEqual(index.verify(tok.token), { ok: false, reason: 'unknown' });
  await rec.reconcile('AccessToken/bad');
  const ready = getCondition(store.get('AccessToken', 'bad')!.status, 'Ready')!;
  assert.equal(ready.reason, 'Invalid');
  assert.match(ready.message!, /tokenHash/);
  const scopes = put(store, 'a', { scopes: ['root'] }, { name: 'badscope' });
  assert.deepEqual(index.verify(scopes.token), { ok: false, reason: 'unknown' });
});

test('lastUsedAt is asked for once per interval, however many requests there are', async (t) => {
  const store = await openStore(t);
  const clock = manualClock();
  const index = new TokenIndex(store, { now: clock.now, lastUsedIntervalMs: 60_000 });
  t.after(() => index.close());
  const asked: Array<[string, number]> = [];
  index.setHooks({ used: (name, delayMs) => asked.push([name, delayMs]) });
  const rec = new TokenReconciler({ store, index, now: clock.now });
  const tok = put(store, 'busy');
  const key = `AccessToken/${tok.name}`;

  for (let i = 0; i < 1000; i++) assert.equal(index.verify(tok.token).ok, true);
  assert.deepEqual(asked, [[tok.name, 0]], 'the first use asks for a write now, the rest wait for it');
  await rec.reconcile(key);
  assert.equal(store.getByKey(key)!.status!.lastUsedAt, new Date(T0).toISOString());

  clock.set(T0 + 10_000);
  for (let i = 0; i < 1000; i++) index.verify(tok.token);
  assert.deepEqual(asked[1], [tok.name, 50_000], 'the next write waits until the interval since the last one has passed');
  assert.equal(asked.length, 2);
  clock.set(T0 + 60_000);
  await rec.reconcile(key);
  assert.equal(store.getByKey(key)!.status!.lastUsedAt, new Date(T0 + 10_000).toISOString());
});

test('the controller writes lastUsedAt after a token is used', async (t) => {
  const store = await openStore(t);
  const manager = new ControllerManager({ store, logger: silentLogger });
  const tokens = createTokenController(manager, { store });
  t.after(() => tokens.close());
  manager.start();
  t.after(() => manager.stop());
  const tok = put(store, 'a');
  await waitFor(() => getCondition(store.get('AccessToken', tok.name)?.status, 'Ready'));
  assert.equal(store.get('AccessToken', tok.name)!.status!.lastUsedAt, undefined);
  assert.equal(tokens.index.verify(tok.token).ok, true);
  const used = tokens.index.lastUsed(tok.name)!.toISOString();
  await waitFor(() => store.get('AccessToken', tok.name)!.status!.lastUsedAt === used, { message: 'lastUsedAt written' });
});

test('tokens in the store before the index is built are indexed', async (t) => {
  const store = await openStore(t);
  const tok = put(store, 'early');
  const index = new TokenIndex(store);
  t.after(() => index.close());
  assert.equal(index.verify(tok.token).ok, true);
  assert.deepEqual(index.agents(), ['early']);
});
