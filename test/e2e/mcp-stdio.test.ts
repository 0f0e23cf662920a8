// `systemmanager serve --stdio` as a real subprocess, driven by the SDK's stdio client: the local
// user gets every tool, and nothing but MCP reaches stdout (the client would fail on a stray line).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const BIN = fileURLToPath(new URL('../../bin/systemmanager.js', import.meta.url));

test('serve --stdio speaks MCP on stdout as the local user, with logs on stderr only', async (t) => {
  const manifests = await mkdtemp(join(tmpdir(), 'sm-stdio-'));
  const state = await mkdtemp(join(tmpdir(), 'sm-stdio-'));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'serve', '--stdio', '--listen', '127.0.0.1:0', '--manifests', manifests, '--state', state, '--host-name', 'stdio-e2e'],
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const client = new Client({ name: 'stdio-e2e', version: '1' });
  t.after(async () => {
    await client.close();
    await Promise.all([manifests, state].map((d) => rm(d, { recursive: true, force: true })));
  });
  await client.connect(transport);
  assert.equal(client.getServerVersion()?.name, 'systemmanager');
  const tools = (await client.listTools()).tools;
  assert.equal(tools.length, 31, 'the local user holds every scope');
  const health = await client.callTool({ name: 'health_check', arguments: {} });
  assert.equal((health.structuredContent as { version: string }).version.length > 0, true);
  const status = await client.callTool({ name: 'get_system_status', arguments: { format: 'toon' } });
  assert.ok(!status.isError, JSON.stringify(status.content));
  const listed = await client.callTool({ name: 'list_resources', arguments: { kind: 'AccessToken' } });
  assert.ok(!listed.isError);
  assert.match(stderr, /"msg":"systemmanager is serving"/, 'logs go to stderr');
  const denied = await client.callTool({ name: 'approve_proposal', arguments: { id: 'nope' } });
  assert.match(JSON.stringify(denied.content), /PROPOSAL_NOT_FOUND/);
  assert.ok(userInfo().username.length > 0);
});
