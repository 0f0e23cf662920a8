// MCP over Streamable HTTP (and the legacy SSE pair) against a real Agent: the SDK's own client with
// minted tokens, and the attacks of issue 6 sent as raw HTTP, with the server still serving others.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { TestContext } from 'node:test';
import { mintToken } from '../../controllers/token/index.ts';
import { Agent, type AgentOptions } from '../../mcp/agent.ts';
import type { DesiredResource } from '../../resources/types.ts';
import { waitFor } from '../support/wait.ts';

async function startAgent(t: TestContext, extra: Partial<AgentOptions> = {}): Promise<Agent> {
  // Directories are removed only after the agent has stopped and flushed its state into them.
  const dirs = [await mkdtemp(join(tmpdir(), 'sm-mcp-')), await mkdtemp(join(tmpdir(), 'sm-mcp-'))];
  let agent: Agent | undefined;
  t.after(async () => {
    await agent?.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  agent = await Agent.start({ manifestsDir: dirs[0]!, stateDir: dirs[1]!, listen: { host: '127.0.0.1', port: 0 }, hostName: 'mcp-e2e', hostIntervalMs: 60_000, ...extra });
  return agent;
}

function mint(agent: Agent, name: string, scopes: string[], ttlMs?: number): string {
  const m = mintToken({ agent: name, scopes, ...(ttlMs !== undefined ? { ttlMs } : {}) });
  agent.store.upsert(m.resource as DesiredResource);
  return m.token;
}

async function sdkClient(t: TestContext, agent: Agent, token: string, headers: Record<string, string> = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${agent.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}`, ...headers } } });
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** post sends raw JSON-RPC to /mcp; the answer body is read whole (SSE or JSON). */
async function post(agent: Agent, body: unknown, headers: Record<string, string> = {}, path = '/mcp'): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${agent.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function openSession(agent: Agent, token: string): Promise<string> {
  const r = await post(agent, INIT, { authorization: `Bearer ${token}` });
  assert.equal(r.status, 200, r.text);
  const sid = r.headers.get('mcp-session-id')!;
  await post(agent, { jsonrpc: '2.0', method: 'notifications/initialized' }, { authorization: `Bearer ${token}`, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  return sid;
}

function toolsCall(id: number, name: string, args: Record<string, unknown> = {}) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

/** rawRequest lets a test set the Host header, which fetch does not. */
function rawRequest(agent: Agent, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  const url = new URL(agent.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the SDK client over Streamable HTTP lists exactly its tools and calls the read tools', async (t) => {
  const agent = await startAgent(t);
  const reader = await sdkClient(t, agent, mint(agent, 'reader', ['readonly']));
  const names = (await reader.listTools()).tools.map((x) => x.name).sort();
  assert.deepEqual(names, ['analyze_container_logs', 'check_system_updates', 'describe_resource', 'file_operations', 'get_active_connections', 'get_container_list', 'get_docker_networks', 'get_network_io_counters', 'get_network_status', 'get_proposal', 'get_resource', 'get_system_status', 'get_top_processes', 'health_check', 'list_docker_images', 'list_proposals', 'list_resources', 'manage_container']);
  for (const name of ['get_system_status', 'get_top_processes', 'get_network_status', 'get_network_io_counters', 'health_check', 'get_container_list']) {
    const r = await reader.callTool({ name, arguments: {} });
    assert.ok(!r.isError, `${name}: ${JSON.stringify(r.content)}`);
  }
  const denied = await reader.callTool({ name: 'pull_docker_image', arguments: { reference: 'busybox:1' } });
  assert.equal(denied.isError, true);
  assert.match(JSON.stringify(denied.content), /insufficient_scope/);
  const lines = (await readFile(join(agent.store.stateDir!, 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { action: string; outcome: string });
  assert.ok(lines.some((l) => l.action === 'mcp.pull_docker_image' && l.outcome === 'denied'), 'the denial is audited');
});

test('the legacy SSE pair works for old clients', async (t) => {
  const agent = await startAgent(t);
  const token = mint(agent, 'old-client', ['system:read']);
  const transport = new SSEClientTransport(new URL(`${agent.url}/sse`), {
    eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${token}` } }) },
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'old', version: '1' });
  await client.connect(transport);
  t.after(() => client.close());
  const r = await client.callTool({ name: 'get_system_status', arguments: {} });
  assert.ok(!r.isError);
  const other = mint(agent, 'other', ['admin']);
  const hijack = await post(agent, toolsCall(9, 'get_system_status'), { authorization: `Bearer ${other}` }, `/messages?sessionId=${(transport as unknown as { _endpoint: URL })._endpoint.searchParams.get('sessionId')}`);
  assert.equal(hijack.status, 404, 'another token cannot post into the SSE session');
});

test('authentication: missing, query-string, malformed, flipped, expired and revoked tokens are refused', async (t) => {
  const agent = await startAgent(t);
  const good = mint(agent, 'good', ['readonly']);
  const none = await post(agent, INIT);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="systemmanager"/);
  const inQuery = await post(agent, INIT, {}, `/mcp?access_token=${good}`);
  assert.equal(inQuery.status, 400);
  assert.equal(JSON.parse(inQuery.text).code, 'TOKEN_IN_QUERY');
  const flipped = good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A');
  for (const bad of ['smt_', good.slice(0, 20), flipped, 'Basic abc', `${good}x`]) {
    const r = await post(agent, INIT, { authorization: `Bearer ${bad}` });
    assert.equal(r.status, 401, bad);
    assert.match(r.headers.get('www-authenticate') ?? '', /invalid_token/);
  }
  const expired = mintToken({ agent: 'old', scopes: ['readonly'], ttlMs: 1000, now: () => new Date(Date.now() - 60_000) });
  agent.store.upsert(expired.resource as DesiredResource);
  assert.equal((await post(agent, INIT, { authorization: `Bearer ${expired.token}` })).status, 401);

  // Revocation mid-session takes effect on the next request.
  const revocable = mintToken({ agent: 'soon-revoked', scopes: ['readonly'] });
  agent.store.upsert(revocable.resource as DesiredResource);
  const sid = await openSession(agent, revocable.token);
  const before = await post(agent, toolsCall(2, 'health_check'), { authorization: `Bearer ${revocable.token}`, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  assert.equal(before.status, 200);
  agent.store.upsert({ ...(revocable.resource as DesiredResource), spec: { ...revocable.resource.spec, revoked: true } } as DesiredResource);
  const after = await post(agent, toolsCall(3, 'health_check'), { authorization: `Bearer ${revocable.token}`, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  assert.equal(after.status, 401);

  // The server still serves a good token.
  const client = await sdkClient(t, agent, good);
  assert.ok(!(await client.callTool({ name: 'health_check', arguments: {} })).isError);
});

test('transport attacks: Host, Origin, body size, malformed JSON-RPC, protocol version, foreign session ids', async (t) => {
  const agent = await startAgent(t);
  const token = mint(agent, 'a', ['readonly']);
  const auth = { authorization: `Bearer ${token}` };
  const port = new URL(agent.url).port;
  const badHost = await rawRequest(agent, { ...auth, host: `evil.example:${port}` }, JSON.stringify(INIT));
  assert.equal(badHost.status, 403);
  assert.equal(JSON.parse(badHost.body).code, 'FORBIDDEN_HOST');
  const badOrigin = await post(agent, INIT, { ...auth, origin: 'http://evil.example' });
  assert.equal(badOrigin.status, 403);
  assert.equal(JSON.parse(badOrigin.text).code, 'FORBIDDEN_ORIGIN');
  const huge = await post(agent, JSON.stringify({ ...INIT, pad: 'x'.repeat(10 * 1024 * 1024) }), auth);
  assert.equal(huge.status, 413);
  assert.equal(JSON.parse(huge.text).code, 'PAYLOAD_TOO_LARGE');
  const notJson = await post(agent, '{"jsonrpc": "2.0", "id": 1, "method": ', auth);
  assert.equal(notJson.status, 400);
  const notRpc = await post(agent, { hello: 'world' }, auth);
  assert.equal(notRpc.status, 400);

  const sid = await openSession(agent, token);
  const wrongVersion = await post(agent, toolsCall(2, 'health_check'), { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': '1999-01-01' });
  assert.equal(wrongVersion.status, 400);
  assert.match(wrongVersion.text, /Unsupported protocol version/);
  const malformedInSession = await post(agent, { jsonrpc: '2.0', id: 'x', method: 42 }, { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  assert.equal(malformedInSession.status, 400);

  const other = mint(agent, 'b', ['admin']);
  const stolen = await post(agent, toolsCall(3, 'get_system_status'), { authorization: `Bearer ${other}`, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  assert.equal(stolen.status, 404, "another token's session id is refused");
  const unknown = await post(agent, toolsCall(4, 'health_check'), { ...auth, 'mcp-session-id': 'not-a-session', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  assert.equal(unknown.status, 404);
  const mine = await post(agent, toolsCall(5, 'health_check'), { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION });
  assert.equal(mine.status, 200, 'the owner still uses its session');
  assert.match(mine.text, /"result":\{"content"/);
});

test('abandoned sessions are bounded per token and overall, and idle ones expire', async (t) => {
  const agent = await startAgent(t, { mcpIdleTimeoutMs: 300, mcpMaxSessions: 1000, mcpMaxSessionsPerToken: 100 });
  const tokens = Array.from({ length: 11 }, (_, i) => mint(agent, `t${i}`, ['readonly']));
  for (let i = 0; i < 1000; i++) {
    const r = await post(agent, INIT, { authorization: `Bearer ${tokens[i % tokens.length]}` });
    assert.equal(r.status, 200);
    assert.ok(agent.mcp.sessions.size <= 1000);
  }
  assert.ok(agent.mcp.sessions.size <= 11 * 100, `sessions ${agent.mcp.sessions.size}`);
  const one = Array.from({ length: 150 }, () => post(agent, INIT, { authorization: `Bearer ${tokens[0]}` }));
  await Promise.all(one);
  await waitFor(() => agent.mcp.sessions.size === 0, { timeoutMs: 10_000, message: 'idle sessions expire' });
});

test('Tailscale identity headers are ignored from an untrusted address and recorded from a trusted one', async (t) => {
  const untrusted = await startAgent(t, { trustedProxies: ['192.0.2.1'] });
  const token = mint(untrusted, 'agent-x', ['container:write', 'container:read']);
  untrusted.store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name: 'web' }, spec: { image: 'systemmanager-test/busybox:1', network: 'none', state: 'running' } });
  const forged = await sdkClient(t, untrusted, token, { 'Tailscale-User-Login': 'boss@example.com' });
  const r = await forged.callTool({ name: 'manage_container', arguments: { name: 'web', action: 'stop', reason: 'test' } });
  assert.ok(!r.isError, JSON.stringify(r.content));
  const id = (r.structuredContent as { proposal: { id: string } }).proposal.id;
  assert.deepEqual(((untrusted.proposals.get(id)!.spec as { proposedBy: object }).proposedBy), { agent: 'agent-x', tokenId: (/^smt_([a-z0-9]+)_/.exec(token))![1] });

  const trusted = await startAgent(t);
  const token2 = mint(trusted, 'agent-y', ['readonly', 'container:admin']);
  const via = await sdkClient(t, trusted, token2, { 'Tailscale-User-Login': 'alice@example.com' });
  await via.callTool({ name: 'pull_docker_image', arguments: { reference: 'systemmanager-test/busybox:1', reason: 'test' } });
  const lines = (await readFile(join(trusted.store.stateDir!, 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { action: string; identity?: { tailscaleLogin?: string } });
  assert.equal(lines.find((l) => l.action === 'mcp.pull_docker_image')?.identity?.tailscaleLogin, 'alice@example.com');
});

test('first start on loopback mints a bootstrap admin token (0600) that survives a restart', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sm-mcp-'));
  const manifestsDir = await mkdtemp(join(tmpdir(), 'sm-mcp-'));
  const stops: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const stop of stops) await stop();
    await Promise.all([stateDir, manifestsDir].map((d) => rm(d, { recursive: true, force: true })));
  });
  const opts = { manifestsDir, stateDir, listen: { host: '127.0.0.1', port: 0 }, hostName: 'boot', hostIntervalMs: 60_000 };
  const first = await Agent.start(opts);
  const file = join(stateDir, 'bootstrap-token');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const token = (await readFile(file, 'utf8')).trim();
  assert.match(token, /^smt_[a-z0-9]+_/);
  assert.ok(!(await readFile(join(stateDir, 'bootstrap-accesstoken.json'), 'utf8')).includes(token.split('_').at(-1)!), 'only the hash is kept');
  await first.stop();
  const second = await Agent.start(opts);
  stops.push(() => second.stop());
  const client = await sdkClient(t, second, token);
  assert.equal((await client.listTools()).tools.length, 31);

});
