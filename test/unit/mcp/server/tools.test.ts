import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '@toon-format/toon';
import { McpError, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { parse } from 'yaml';
import { connect, errorOf, harness, principal, textOf } from './fixtures.ts';
import { waitFor } from '../../../support/wait.ts';

const READS = ['get_system_status', 'get_top_processes', 'get_network_status', 'get_network_io_counters', 'health_check', 'get_container_list', 'list_docker_images', 'get_docker_networks'];

test('tools/list shows exactly the tools a token may call', async (t) => {
  const h = await harness(t);
  const names = async (scopes: string[]) => (await (await connect(t, h, principal('a', scopes, 'tok'))).listTools()).tools.map((x) => x.name).sort();
  const any = ['describe_resource', 'get_proposal', 'get_resource', 'health_check', 'list_proposals', 'list_resources'];
  assert.deepEqual(await names([]), any.sort());
  assert.deepEqual(await names(['system:read']), [...any, 'check_system_updates', 'get_network_io_counters', 'get_network_status', 'get_system_status', 'get_top_processes'].sort());
  assert.deepEqual(await names(['container:read']), [...any, 'analyze_container_logs', 'get_container_list', 'get_docker_networks', 'list_docker_images', 'manage_container'].sort());
  assert.deepEqual(await names(['container:admin']), [...any, 'propose_change', 'pull_docker_image', 'update_docker_container'].sort());
  assert.deepEqual(await names(['proposals:approve']), [...any, 'approve_proposal', 'reject_proposal'].sort());
  assert.deepEqual(await names(['file:read']), [...any, 'file_operations'].sort());
  assert.deepEqual(await names(['network:read']), [...any, 'get_active_connections'].sort());
  assert.deepEqual(await names(['network:diag']), [...any, 'check_ssl_certificate', 'dns_lookup', 'http_request_test', 'ping_host', 'test_port_connectivity', 'traceroute'].sort());
  assert.deepEqual(await names(['system:admin']), [...any, 'install_package', 'propose_change', 'update_system_packages'].sort());
  assert.equal((await names(['admin'])).length, 31);
  const tools = (await (await connect(t, h, principal('a', ['admin'], 'tok'))).listTools()).tools;
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, 'object', tool.name);
    assert.ok(tool.outputSchema, `${tool.name} has an outputSchema`);
    assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', tool.name);
    assert.ok(!JSON.stringify(tool.inputSchema).includes('.schema.json'), `${tool.name}'s inputSchema is self-contained`);
  }
});

test('every read tool answers with structuredContent and a JSON text content', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('reader', ['readonly'], 'tok'));
  for (const name of READS) {
    const r = await client.callTool({ name, arguments: {} });
    assert.ok(!r.isError, `${name}: ${textOf(r)}`);
    assert.deepEqual(JSON.parse(textOf(r)), r.structuredContent, name);
  }
  assert.deepEqual(h.calls.map((c) => c.outcome), READS.map(() => 'ok'));
});

test('get_top_processes sorts and limits', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('reader', ['system:read'], 'tok'));
  const r = await client.callTool({ name: 'get_top_processes', arguments: { sortBy: 'memory', limit: 3 } });
  const procs = (r.structuredContent as { processes: Array<{ memoryPercent: number }> }).processes;
  assert.equal(procs.length, 3);
  assert.ok(procs[0]!.memoryPercent >= procs[1]!.memoryPercent && procs[1]!.memoryPercent >= procs[2]!.memoryPercent);
});

test('format toon writes TOON that decodes back to the structured content; the resolver sets the default', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('reader', ['readonly'], 'tok'));
  const asked = await client.callTool({ name: 'get_top_processes', arguments: { format: 'toon', limit: 20 } });
  assert.notEqual(textOf(asked)[0], '{');
  assert.deepEqual(decode(textOf(asked)), asked.structuredContent);
  h.formats.format = 'toon';
  const byDefault = await client.callTool({ name: 'get_container_list', arguments: {} });
  assert.deepEqual(decode(textOf(byDefault)), byDefault.structuredContent);
  const overridden = await client.callTool({ name: 'get_container_list', arguments: { format: 'json' } });
  assert.deepEqual(JSON.parse(textOf(overridden)), overridden.structuredContent);
});

test('get_container_list marks managed containers and still answers from the store when Docker is down', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('reader', ['container:read'], 'tok'));
  const up = (await client.callTool({ name: 'get_container_list', arguments: {} })).structuredContent as { dockerAvailable: boolean; containers: Array<{ name: string; managed: boolean }> };
  assert.equal(up.dockerAvailable, true);
  assert.deepEqual(up.containers.map((c) => [c.name, c.managed]), [['web', true], ['hand-made', false]]);
  h.docker.down = true;
  const down = (await client.callTool({ name: 'get_container_list', arguments: {} })).structuredContent as { dockerAvailable: boolean; dockerMessage: string; containers: Array<{ name: string }> };
  assert.equal(down.dockerAvailable, false);
  assert.match(down.dockerMessage, /Docker engine/);
  assert.deepEqual(down.containers.map((c) => c.name), ['web']);
  const images = await client.callTool({ name: 'list_docker_images', arguments: {} });
  assert.equal(images.isError, true);
  assert.equal(errorOf(images).code, 'DOCKER_UNAVAILABLE');
});

test('a readonly token calling a write tool is refused with insufficient_scope and audited', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('reader', ['readonly'], 'tok'));
  const r = await client.callTool({ name: 'update_docker_container', arguments: { name: 'web', spec: { state: 'stopped' }, reason: 'x' } });
  assert.equal(r.isError, true);
  assert.deepEqual(errorOf(r), { code: 'FORBIDDEN_SCOPE', message: 'insufficient_scope: update_docker_container needs the container:admin scope, which this token does not have', error: 'insufficient_scope', scope: 'container:admin' });
  const restart = await client.callTool({ name: 'manage_container', arguments: { name: 'web', action: 'restart' } });
  assert.equal(errorOf(restart).scope, 'container:write');
  assert.deepEqual(h.audit.entries.map((e) => [e.action, e.outcome, e.scope]), [
    ['mcp.update_docker_container', 'denied', 'container:admin'],
    ['mcp.manage_container', 'denied', 'container:write'],
  ]);
  assert.equal(h.proposals.items.size, 0);
  assert.deepEqual(h.calls.map((c) => c.outcome), ['denied', 'denied']);
});

test('manage_container restart proposes a new spec.restartedAt and says how to approve', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('agent-a', ['container:write'], 'tok'));
  const r = await client.callTool({ name: 'manage_container', arguments: { name: 'web', action: 'restart', reason: 'stuck' } });
  assert.ok(!r.isError, textOf(r));
  const out = r.structuredContent as { proposal: { id: string; risk: string; diff: string }; approve: string };
  assert.match(out.approve, new RegExp(`systemmanager approve ${out.proposal.id}`));
  assert.match(textOf(r), /^Proposed update Container\/web as proposal p-1/);
  const change = (h.proposals.get(out.proposal.id)!.spec as { changes: Array<{ object: { spec: { restartedAt?: string; image: string } } }> }).changes[0]!;
  assert.match(change.object.spec.restartedAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(change.object.spec.image, 'systemmanager-test/busybox:1');
  assert.deepEqual(h.audit.entries.map((e) => e.outcome), ['allowed', 'succeeded']);
  assert.equal(h.audit.entries[1]!.proposal, out.proposal.id);
  const again = await client.callTool({ name: 'manage_container', arguments: { name: 'web', action: 'start' } });
  assert.equal(errorOf(again).code, 'NO_CHANGE');
  const missing = await client.callTool({ name: 'manage_container', arguments: { name: 'nope', action: 'stop' } });
  assert.equal(errorOf(missing).code, 'NOT_FOUND');
});

test('manage_container logs is a read with a line limit', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('reader', ['container:read'], 'tok'));
  const r = await client.callTool({ name: 'manage_container', arguments: { name: 'web', action: 'logs', lines: 5, since: '10m' } });
  assert.deepEqual((r.structuredContent as { lines: string[] }).lines, ['aaaaaaaaaaaa1234 line 495', 'aaaaaaaaaaaa1234 line 496', 'aaaaaaaaaaaa1234 line 497', 'aaaaaaaaaaaa1234 line 498', 'aaaaaaaaaaaa1234 line 499']);
  assert.equal(h.audit.entries.length, 0, 'reads are not audited');
});

test('when the audit log cannot be written, changes fail closed and reads still work', async (t) => {
  const h = await harness(t);
  h.audit.broken = true;
  const client = await connect(t, h, principal('agent-a', ['admin'], 'tok'));
  const r = await client.callTool({ name: 'manage_container', arguments: { name: 'web', action: 'stop' } });
  assert.equal(errorOf(r).code, 'AUDIT_UNAVAILABLE');
  assert.equal(h.proposals.items.size, 0);
  assert.ok(!(await client.callTool({ name: 'get_system_status', arguments: {} })).isError);
});

test('arguments that violate the schema are refused before the handler runs', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('agent-a', ['admin'], 'tok'));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['get_top_processes', { limit: 5, extra: true }, /\/extra: unknown field/],
    ['get_top_processes', { limit: 'ten' }, /\/limit: must be integer/],
    ['get_top_processes', { limit: 10_000 }, /\/limit: must be <= 200/],
    ['manage_container', { name: 'web', action: 'explode' }, /\/action: must be one of/],
    ['manage_container', { name: 'web' }, /\/action: required field is missing/],
    ['propose_change', { operation: 'create', kind: 'Container', name: 'x', reason: 'r'.repeat(5000) }, /\/reason: must NOT have more than 4096 characters/],
    ['get_network_io_counters', { interface: 'x'.repeat(300_000) }, /limit is 262144/],
    ['get_network_io_counters', { interface: 'eth0; rm -rf /' }, /\/interface: .*does not match/],
  ];
  for (const [name, args, message] of cases) {
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, true, name);
    const e = errorOf(r);
    assert.equal(e.code, 'INVALID_ARGUMENTS', `${name} ${JSON.stringify(args).slice(0, 80)}`);
    assert.match(e.message, message);
  }
  assert.equal(h.proposals.items.size, 0);
  assert.ok(h.calls.every((c) => c.outcome === 'invalid'));
});

test('an unknown tool is a protocol error (McpError), not a tool result', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('agent-a', ['admin'], 'tok'));
  await assert.rejects(client.callTool({ name: 'rm_rf', arguments: {} }), (err: unknown) => err instanceof McpError && /unknown tool "rm_rf"/.test(err.message));
});

test('propose_change validates the object against its kind and needs the kind\'s write scope', async (t) => {
  const h = await harness(t);
  const sysadmin = await connect(t, h, principal('ops', ['system:admin'], 'tok1'));
  const pkg = { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Package', metadata: { name: 'htop' }, spec: { name: 'htop', state: 'present' } };
  const ok = await sysadmin.callTool({ name: 'propose_change', arguments: { operation: 'create', kind: 'Package', name: 'htop', object: pkg, reason: 'need it' } });
  assert.ok(!ok.isError, textOf(ok));
  const container = { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name: 'db' }, spec: { image: 'busybox:1' } };
  const denied = await sysadmin.callTool({ name: 'propose_change', arguments: { operation: 'create', kind: 'Container', name: 'db', object: container, reason: 'x' } });
  assert.equal(errorOf(denied).scope, 'container:admin');
  const admin = await connect(t, h, principal('ops2', ['container:admin'], 'tok2'));
  const bad = await admin.callTool({ name: 'propose_change', arguments: { operation: 'create', kind: 'Container', name: 'db', object: { ...container, spec: { image: 'busybox:1', privileged: 'yes' } }, reason: 'x' } });
  assert.equal(errorOf(bad).code, 'INVALID_ARGUMENTS');
  assert.match(errorOf(bad).message, /\/object\/spec\/privileged/);
  const mismatch = await admin.callTool({ name: 'propose_change', arguments: { operation: 'create', kind: 'Container', name: 'other', object: container, reason: 'x' } });
  assert.equal(errorOf(mismatch).code, 'INVALID_ARGUMENTS');
  const exists = await admin.callTool({ name: 'propose_change', arguments: { operation: 'create', kind: 'Container', name: 'web', object: { ...container, metadata: { name: 'web' } }, reason: 'x' } });
  assert.equal(errorOf(exists).code, 'ALREADY_EXISTS');
  const del = await admin.callTool({ name: 'propose_change', arguments: { operation: 'delete', kind: 'Container', name: 'web', reason: 'gone' } });
  assert.ok(!del.isError, textOf(del));
});

test('approvals: a write token cannot approve, the proposer cannot approve, another identity can', async (t) => {
  const h = await harness(t);
  const writer = await connect(t, h, principal('agent-a', ['container:write', 'container:read'], 'tok1'));
  const id = ((await writer.callTool({ name: 'manage_container', arguments: { name: 'web', action: 'stop' } })).structuredContent as { proposal: { id: string } }).proposal.id;
  const notAllowed = await writer.callTool({ name: 'approve_proposal', arguments: { id } });
  assert.equal(errorOf(notAllowed).code, 'FORBIDDEN_SCOPE');
  const self = await connect(t, h, principal('agent-a', ['proposals:approve'], 'tok3'));
  assert.equal(errorOf(await self.callTool({ name: 'approve_proposal', arguments: { id } })).code, 'SELF_APPROVAL');
  const operator = await connect(t, h, principal('operator', ['proposals:approve'], 'tok2'));
  const listed = (await operator.callTool({ name: 'list_proposals', arguments: { phase: 'Pending' } })).structuredContent as { proposals: Array<{ id: string }> };
  assert.deepEqual(listed.proposals.map((p) => p.id), [id]);
  const approved = await operator.callTool({ name: 'approve_proposal', arguments: { id, comment: 'ok' } });
  assert.equal((approved.structuredContent as { phase: string }).phase, 'Applied');
  assert.equal(errorOf(await operator.callTool({ name: 'reject_proposal', arguments: { id } })).code, 'PROPOSAL_NOT_PENDING');
  assert.equal(errorOf(await operator.callTool({ name: 'get_proposal', arguments: { id: 'nope' } })).code, 'PROPOSAL_NOT_FOUND');
  const decisions = h.audit.entries.filter((e) => e.action === 'mcp.approve_proposal').map((e) => e.outcome);
  assert.deepEqual(decisions, ['denied', 'allowed', 'failed', 'allowed', 'succeeded']);
});

test('health_check needs no scope and tells no secrets', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, undefined);
  assert.deepEqual((await client.listTools()).tools.map((x) => x.name), ['health_check']);
  const r = await client.callTool({ name: 'health_check', arguments: {} });
  assert.deepEqual(Object.keys(r.structuredContent!).sort(), ['checks', 'status', 'uptimeSeconds', 'version']);
  assert.equal(errorOf(await client.callTool({ name: 'list_resources', arguments: { kind: 'Container' } })).code, 'UNAUTHENTICATED');
});

test('resource tools check the kind\'s read scope', async (t) => {
  const h = await harness(t);
  const client = await connect(t, h, principal('reader', ['container:read'], 'tok'));
  const list = (await client.callTool({ name: 'list_resources', arguments: { kind: 'Container' } })).structuredContent as { items: Array<{ name: string; ready: string }> };
  assert.deepEqual(list.items.map((i) => [i.name, i.ready]), [['web', 'True']]);
  const described = (await client.callTool({ name: 'describe_resource', arguments: { kind: 'Container', name: 'web' } })).structuredContent as { events: Array<{ reason: string }> };
  assert.deepEqual(described.events.map((e) => e.reason), ['Started']);
  assert.equal(errorOf(await client.callTool({ name: 'get_resource', arguments: { kind: 'Host', name: 'h1' } })).scope, 'system:read');
  assert.equal(errorOf(await client.callTool({ name: 'get_resource', arguments: { kind: 'Container', name: 'nope' } })).code, 'NOT_FOUND');
});

test('MCP resources: listed with a cursor, read as YAML with status, subscriptions notified on status change', async (t) => {
  const h = await harness(t);
  for (let i = 0; i < 150; i++) h.store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Image', metadata: { name: `img-${i}` }, spec: { reference: `busybox:${i}` } });
  const client = await connect(t, h, principal('reader', ['container:read'], 'tok'));
  const first = await client.listResources();
  assert.equal(first.resources.length, 100);
  assert.ok(first.nextCursor);
  const second = await client.listResources({ cursor: first.nextCursor });
  assert.equal(second.resources.length, 51, 'Container/web and 150 Images; the Host needs system:read');
  assert.equal(second.nextCursor, undefined);
  await assert.rejects(client.listResources({ cursor: 'garbage' }), /invalid cursor/);
  const read = await client.readResource({ uri: 'systemmanager://container/web' });
  const doc = parse((read.contents[0] as { text: string }).text) as { kind: string; status: { state: string } };
  assert.equal(doc.kind, 'Container');
  assert.equal(doc.status.state, 'running');
  await assert.rejects(client.readResource({ uri: 'systemmanager://host/h1' }), /insufficient_scope/);
  await assert.rejects(client.readResource({ uri: 'systemmanager://container/missing' }), /not found/);
  await assert.rejects(client.readResource({ uri: 'file:///etc/passwd' }), /not a systemmanager resource URI/);

  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
  });
  await client.subscribeResource({ uri: 'systemmanager://container/web' });
  h.store.updateStatus('Container', 'web', { state: 'exited' });
  h.store.updateStatus('Image', 'img-1', { id: 'sha256:x' });
  await waitFor(() => updates.length > 0);
  assert.deepEqual(updates, ['systemmanager://container/web']);
});
