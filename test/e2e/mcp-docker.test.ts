// The "done" criterion on real parts: a real Agent with a real Docker engine; the SDK client
// over Streamable HTTP with a minted token calls every read tool, proposes a container restart, a
// second identity approves it, and the container really restarts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { TestContext } from 'node:test';
import { mintToken } from '../../controllers/token/index.ts';
import { Agent } from '../../mcp/agent.ts';
import type { DesiredResource } from '../../resources/types.ts';
import { DOCKER_HINT, dockerAvailable, dockerRequest, requirePart, TEST_IMAGE } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

async function client(t: TestContext, agent: Agent, agentName: string, scopes: string[]): Promise<Client> {
  const m = mintToken({ agent: agentName, scopes });
  agent.store.upsert(m.resource as DesiredResource);
  const c = new Client({ name: agentName, version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${agent.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${m.token}` } } }));
  t.after(() => c.close());
  return c;
}

test('an agent proposes a container restart over MCP, another identity approves it, the container restarts', async (t) => {
  if (!(await requirePart(t, 'Docker engine', () => dockerAvailable(), DOCKER_HINT))) return;
  const name = `mcp-e2e-${randomBytes(3).toString('hex')}`;
  const manifestsDir = await mkdtemp(join(tmpdir(), 'sm-mcp-'));
  const stateDir = await mkdtemp(join(tmpdir(), 'sm-mcp-'));
  let agent: Agent | undefined;
  t.after(async () => {
    await agent?.stop();
    await dockerRequest(`/containers/${name}?force=1&v=1`, undefined, 'DELETE').catch(() => {});
    await Promise.all([manifestsDir, stateDir].map((d) => rm(d, { recursive: true, force: true })));
  });
  await writeFile(
    join(manifestsDir, `${name}.yaml`),
    ['apiVersion: systemmanager.io/v1alpha1', 'kind: Container', 'metadata:', `  name: ${name}`, 'spec:', `  image: ${TEST_IMAGE}`, '  command: [sh, -c, "echo hello from mcp; sleep 3600"]', '  network: none', ''].join('\n'),
  );
  agent = await Agent.start({ manifestsDir, stateDir, listen: { host: '127.0.0.1', port: 0 }, hostName: 'mcp-docker-e2e', hostIntervalMs: 60_000 });
  const started: string = await waitFor(() => {
    const s = agent!.store.get('Container', name)?.status as { state?: string; startedAt?: string } | undefined;
    return s?.state === 'running' ? s.startedAt : undefined;
  }, { timeoutMs: 90_000, message: 'the container runs' });

  const reader = await client(t, agent, 'reader', ['readonly']);
  for (const tool of ['get_system_status', 'get_top_processes', 'get_network_status', 'get_network_io_counters', 'health_check', 'get_container_list', 'list_docker_images', 'get_docker_networks']) {
    const r = await reader.callTool({ name: tool, arguments: {} });
    assert.ok(!r.isError, `${tool}: ${JSON.stringify(r.content)}`);
  }
  const list = (await reader.callTool({ name: 'get_container_list', arguments: {} })).structuredContent as { dockerAvailable: boolean; containers: Array<{ name: string; managed: boolean; state: string }> };
  assert.equal(list.dockerAvailable, true);
  const row = list.containers.find((c) => c.name === name) as Record<string, unknown>;
  assert.deepEqual({ ...row, status: undefined }, { name, managed: true, image: TEST_IMAGE, state: 'running', desiredState: 'running', ready: 'True', id: (agent.store.get('Container', name)!.status as { containerID: string }).containerID.slice(0, 12), status: undefined });
  assert.match(String(row.status), /^Up /);
  const images = (await reader.callTool({ name: 'list_docker_images', arguments: {} })).structuredContent as { images: Array<{ tags: string[] }> };
  assert.ok(images.images.some((i) => i.tags.includes(TEST_IMAGE)));
  const logs = await reader.callTool({ name: 'manage_container', arguments: { name, action: 'logs', lines: 10 } });
  assert.deepEqual((logs.structuredContent as { lines: string[] }).lines, ['hello from mcp']);

  const writer = await client(t, agent, 'agent-writer', ['container:write']);
  const proposed = await writer.callTool({ name: 'manage_container', arguments: { name, action: 'restart', reason: 'e2e restart' } });
  assert.ok(!proposed.isError, JSON.stringify(proposed.content));
  const { proposal } = proposed.structuredContent as { proposal: { id: string; diff: string; risk: string } };
  assert.match(proposal.diff, /restartedAt/);
  assert.equal(errorCode(await writer.callTool({ name: 'approve_proposal', arguments: { id: proposal.id } })), 'FORBIDDEN_SCOPE');

  const operator = await client(t, agent, 'operator', ['proposals:approve']);
  const approved = await operator.callTool({ name: 'approve_proposal', arguments: { id: proposal.id, comment: 'go' } });
  assert.ok(!approved.isError, JSON.stringify(approved.content));
  await waitFor(() => {
    const s = agent!.store.get('Container', name)?.status as { state?: string; startedAt?: string } | undefined;
    return s?.state === 'running' && s.startedAt !== started;
  }, { timeoutMs: 90_000, message: 'the container restarts' });
  const inspect = JSON.parse((await dockerRequest(`/containers/${name}/json`)).body) as { State: { StartedAt: string } };
  assert.notEqual(inspect.State.StartedAt.slice(0, 19), started.slice(0, 19));
});

function errorCode(r: Record<string, unknown>): string {
  return (JSON.parse((r.content as Array<{ text: string }>)[0]!.text) as { error: { code: string } }).error.code;
}
