import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import { silentLogger } from '../../../../resources/log.ts';
import { ControllerManager, getCondition } from '../../../../controllers/runtime/index.ts';
import { createOutputPreferenceController, OutputPreferenceResolver } from '../../../../controllers/output/index.ts';
import { mintToken } from '../../../../controllers/token/index.ts';
import { waitFor } from '../../../support/wait.ts';

async function openStore(t: TestContext): Promise<ResourceStore> {
  const store = await ResourceStore.open();
  t.after(() => store.close());
  return store;
}

function pref(store: ResourceStore, name: string, format: 'toon' | 'json', selector?: { agents?: string[]; tools?: string[] }, extra: Record<string, unknown> = {}): void {
  store.upsert({ apiVersion: API_VERSION, kind: 'OutputPreference', metadata: { name }, spec: { format, ...(selector ? { selector } : {}), ...extra } });
}

function resolver(t: TestContext, store: ResourceStore, hostLabels?: Record<string, string>): OutputPreferenceResolver {
  const r = new OutputPreferenceResolver(store, hostLabels ? { hostLabels: () => hostLabels } : {});
  t.after(() => r.close());
  return r;
}

test('with no preference a call gets json from the default', async (t) => {
  const store = await openStore(t);
  assert.deepEqual(resolver(t, store).resolve({ agent: 'a', tool: 'get_system_status' }), {
    format: 'json',
    source: 'default',
    reason: 'no OutputPreference matches this call',
  });
});

test('the most specific preference wins: agents and tools > agents > tools > empty selector', async (t) => {
  const store = await openStore(t);
  const r = resolver(t, store);
  pref(store, 'everyone', 'toon');
  pref(store, 'lists', 'json', { tools: ['get_container_list'] });
  pref(store, 'claude', 'toon', { agents: ['claude'] });
  pref(store, 'claude-lists', 'json', { agents: ['claude'], tools: ['get_container_list'] });
  const source = (agent: string | undefined, tool: string) => {
    const res = r.resolve({ agent, tool });
    return `${res.source}=${res.format}`;
  };
  assert.equal(source('other', 'ping_host'), 'OutputPreference/everyone=toon');
  assert.equal(source('other', 'get_container_list'), 'OutputPreference/lists=json');
  assert.equal(source('claude', 'ping_host'), 'OutputPreference/claude=toon', 'agents only beats tools only');
  assert.equal(source('claude', 'get_container_list'), 'OutputPreference/claude-lists=json');
  assert.equal(source(undefined, 'ping_host'), 'OutputPreference/everyone=toon', 'an unnamed caller matches no agents list');
});

test('preferences that tie with the same format agree: the first name is reported, no conflict', async (t) => {
  const store = await openStore(t);
  pref(store, 'b', 'toon', { agents: ['x'] });
  pref(store, 'a', 'toon', { agents: ['x', 'y'] });
  const res = resolver(t, store).resolve({ agent: 'x', tool: 't' });
  assert.deepEqual(res, { format: 'toon', source: 'OutputPreference/a', reason: 'the most specific matching preference is OutputPreference/a' });
});

test('two preferences that tie with different formats are a conflict: json, and the answer says why', async (t) => {
  const store = await openStore(t);
  const r = resolver(t, store);
  pref(store, 'team-toon', 'toon', { agents: ['x', 'y'] });
  pref(store, 'team-json', 'json', { agents: ['y', 'z'] });
  pref(store, 'all', 'toon');
  const tie = r.resolve({ agent: 'y', tool: 'get_system_status' });
  assert.equal(tie.format, 'json');
  assert.equal(tie.source, 'conflict');
  assert.deepEqual(tie.conflict, ['OutputPreference/team-json', 'OutputPreference/team-toon']);
  assert.match(tie.reason, /team-json \(json\), OutputPreference\/team-toon \(toon\) match this call equally specifically but disagree; using json/);
  assert.equal(r.resolve({ agent: 'x', tool: 't' }).source, 'OutputPreference/team-toon', 'outside the overlap each one still applies');
  assert.equal(r.resolve({ agent: 'z', tool: 't' }).source, 'OutputPreference/team-json');
});

test('suspended preferences and those for other hosts are not in force; changes apply to the next call', async (t) => {
  const store = await openStore(t);
  const r = resolver(t, store, { role: 'web' });
  pref(store, 'db-only', 'toon', undefined, { hostSelector: { matchLabels: { role: 'db' } } });
  pref(store, 'paused', 'toon', undefined, { suspend: true });
  assert.equal(r.resolve({ agent: 'a', tool: 't' }).source, 'default');
  pref(store, 'web-only', 'toon', undefined, { hostSelector: { matchLabels: { role: 'web' } } });
  assert.equal(r.resolve({ agent: 'a', tool: 't' }).format, 'toon');
  pref(store, 'web-only', 'json', undefined, { hostSelector: { matchLabels: { role: 'web' } } });
  assert.equal(r.resolve({ agent: 'a', tool: 't' }).format, 'json', 'a changed spec is seen by the next call');
  store.delete('OutputPreference', 'web-only');
  assert.equal(r.resolve({ agent: 'a', tool: 't' }).source, 'default');
});

test('empty selector lists count as absent', async (t) => {
  const store = await openStore(t);
  pref(store, 'empty-lists', 'toon', { agents: [], tools: [] });
  pref(store, 'tools', 'json', { tools: ['t'] });
  const r = resolver(t, store);
  assert.equal(r.resolve({ agent: 'a', tool: 'other' }).source, 'OutputPreference/empty-lists');
  assert.equal(r.resolve({ agent: 'a', tool: 't' }).source, 'OutputPreference/tools', 'tools only is more specific than an empty selector');
});

test('the controller reports matched agents from the AccessTokens and a Conflict naming the other preference', async (t) => {
  const store = await openStore(t);
  const manager = new ControllerManager({ store, logger: silentLogger });
  const output = createOutputPreferenceController(manager, { store });
  t.after(() => output.close());
  manager.start();
  t.after(() => manager.stop());
  for (const agent of ['claude', 'ci', 'ops']) store.upsert(mintToken({ agent, scopes: ['readonly'] }).resource);
  pref(store, 'for-claude', 'toon', { agents: ['claude', 'cursor'] });
  pref(store, 'all', 'json');
  const statusOf = (name: string) => store.get('OutputPreference', name)?.status;

  await waitFor(() => getCondition(statusOf('for-claude'), 'Ready')?.reason === 'Active');
  assert.deepEqual(statusOf('for-claude')!.matchedAgents, ['claude'], 'cursor has no token');
  await waitFor(() => getCondition(statusOf('all'), 'Ready')?.reason === 'Active');
  assert.deepEqual(statusOf('all')!.matchedAgents, ['ci', 'claude', 'ops']);

  store.upsert(mintToken({ agent: 'cursor', scopes: ['readonly'] }).resource);
  await waitFor(() => (statusOf('for-claude')!.matchedAgents as string[]).includes('cursor'), { message: 'a new token agent is matched' });

  pref(store, 'claude-json', 'json', { agents: ['claude'] });
  for (const [name, other] of [['for-claude', 'claude-json'], ['claude-json', 'for-claude']] as const) {
    const conflict = await waitFor(() => getCondition(statusOf(name), 'Conflict'), { message: `${name} reports a Conflict` });
    assert.equal(conflict.status, 'True');
    assert.match(conflict.message!, new RegExp(`OutputPreference/${other} \\(`));
    assert.equal(getCondition(statusOf(name), 'Ready')?.status, 'False');
    assert.equal(getCondition(statusOf(name), 'Ready')?.reason, 'Conflict');
  }
  assert.equal(getCondition(statusOf('all'), 'Conflict'), undefined, 'a less specific preference does not tie');

  store.delete('OutputPreference', 'claude-json');
  await waitFor(() => getCondition(statusOf('for-claude'), 'Conflict') === undefined && getCondition(statusOf('for-claude'), 'Ready')?.reason === 'Active', {
    message: 'the conflict clears when the other preference goes',
  });
});

test('a suspended preference says so in its status', async (t) => {
  const store = await openStore(t);
  const manager = new ControllerManager({ store, logger: silentLogger });
  const output = createOutputPreferenceController(manager, { store });
  t.after(() => output.close());
  manager.start();
  t.after(() => manager.stop());
  pref(store, 'paused', 'toon', undefined, { suspend: true });
  pref(store, 'live', 'json');
  const ready = await waitFor(() => getCondition(store.get('OutputPreference', 'paused')?.status, 'Ready'));
  assert.equal(ready.reason, 'Suspended');
  await waitFor(() => getCondition(store.get('OutputPreference', 'live')?.status, 'Ready')?.reason === 'Active');
  assert.equal(getCondition(store.get('OutputPreference', 'live')!.status, 'Conflict'), undefined, 'a suspended preference cannot conflict');
});
