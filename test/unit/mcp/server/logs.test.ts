import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createDockerInventory, createMcpServer, createToolRegistry, type DockerInventory } from '../../../../mcp/server/index.ts';
import { LogAnalyzer, normalizeSignature } from '../../../../mcp/server/hygiene/index.ts';
import { errorOf, harness, principal } from './fixtures.ts';
import { tempDir } from '../../../support/manifests.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** fakeEngine serves Docker's inspect and logs endpoints on a unix socket; logs are multiplexed frames cut at awkward places. */
async function fakeEngine(t: TestContext, opts: { log: Buffer; state?: Record<string, unknown>; restartCount?: number }) {
  const dir = await tempDir(t, 'sm-engine-');
  const socketPath = join(dir, 'docker.sock');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url?.startsWith('/containers/ghost')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'No such container: ghost' }));
      return;
    }
    if (/\/json$/.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ Id: 'f'.repeat(64), Name: '/app', Config: { Tty: false }, RestartCount: opts.restartCount ?? 0, State: { Status: 'running', OOMKilled: false, ExitCode: 0, Error: '', StartedAt: '2025-01-01T00:00:00Z', ...opts.state } }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
    // Seven-byte writes split headers and lines across chunks.
    for (let i = 0; i < opts.log.length; i += 7) res.write(opts.log.subarray(i, i + 7));
    res.end();
  });
  await new Promise<void>((ok) => server.listen(socketPath, ok));
  t.after(() => new Promise<void>((ok) => server.close(() => ok())));
  return { docker: createDockerInventory(socketPath), seen };
}

async function client(t: TestContext, docker: DockerInventory, opts: { sampling?: (prompt: string) => string } = {}) {
  const h = await harness(t);
  const services = { ...h.services, docker };
  const registry = createToolRegistry(services, { audit: h.audit });
  const session = createMcpServer({ registry, services, principal: principal('reader', ['container:read'], 'tok') });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await session.server.connect(b);
  const c = new Client({ name: 'test', version: '1' }, { capabilities: opts.sampling ? { sampling: {} } : {} });
  const prompts: string[] = [];
  if (opts.sampling) {
    c.setRequestHandler(CreateMessageRequestSchema, (req) => {
      const text = (req.params.messages[0]!.content as { text: string }).text;
      prompts.push(text);
      return { role: 'assistant', model: 'test-model-1', content: { type: 'text', text: opts.sampling!(text) } };
    });
  }
  await c.connect(a);
  t.after(async () => {
    await c.close();
    await session.close();
  });
  return { call: (args: Record<string, unknown>) => c.callTool({ name: 'analyze_container_logs', arguments: args }), prompts };
}

const LOG = Buffer.concat([
  frame(1, '2025-01-01T10:00:01.000000000Z starting server on port 8080\n'),
  frame(2, '2025-01-01T10:00:02.000000000Z ERROR dial tcp 10.0.0.7:5432: connect: connection refused (attempt 1)\n2025-01-01T10:00:03.5Z ERROR dial tcp 10.0.0.7:5432: connect: connection refused (attempt 2)\n'),
  frame(2, '2025-01-01T10:01:04.000000000Z WARN config deprecated: use DB_URL\n'),
  frame(2, '2025-01-01T10:02:05.000000000Z ERROR open /data/db.lock: permission denied\n'),
  frame(1, '2025-01-01T10:03:06.000000000Z panic: runtime error: out of memory'),
]);

test('the analysis counts signatures with numbers and addresses masked, finds causes, and demultiplexes Docker frames split across chunks', async (t) => {
  const { docker, seen } = await fakeEngine(t, { log: LOG });
  const { call } = await client(t, docker);
  const r = await call({ name: 'app', tail: 500, since: '2h' });
  assert.ok(!r.isError, JSON.stringify(r.content));
  const a = r.structuredContent as {
    lines: number;
    errors: number;
    warnings: number;
    signatures: Array<{ signature: string; count: number; firstSeen: string; lastSeen: string }>;
    likelyCauses: Array<{ id: string; occurrences: number; evidence: string[]; recommendation: string }>;
    rate: { bucketSeconds: number; buckets: Array<{ lines: number; errors: number }> };
    window: { bytesRead: number; truncated: boolean };
    modelSummary?: unknown;
  };
  assert.deepEqual([a.lines, a.errors, a.warnings], [6, 4, 1]);
  assert.deepEqual(a.signatures[0], {
    signature: 'ERROR dial tcp <ip>: connect: connection refused (attempt <n>)',
    level: 'error',
    count: 2,
    firstSeen: '2025-01-01T10:00:02.000000000Z',
    lastSeen: '2025-01-01T10:00:03.5Z',
    example: 'ERROR dial tcp 10.0.0.7:5432: connect: connection refused (attempt 1)',
  });
  assert.deepEqual(a.likelyCauses.map((c) => [c.id, c.occurrences]), [['connection-refused', 2], ['oom-kill', 1], ['permission-denied', 1]]);
  assert.match(a.likelyCauses[0]!.evidence[0]!, /^2025-01-01T10:00:02.000000000Z ERROR dial tcp/);
  assert.deepEqual(a.rate.buckets.map((b) => b.lines), [3, 1, 1, 1]);
  assert.equal(a.window.bytesRead, LOG.length);
  assert.equal(a.window.truncated, false);
  assert.equal(a.modelSummary, undefined, 'no sampling without the capability');
  const logsUrl = seen.find((u) => u.includes('/logs?'))!;
  assert.match(logsUrl, /tail=500/);
  assert.match(logsUrl, /timestamps=1/);
  assert.match(logsUrl, /since=\d{10}/);
});

test('reading stops at maxBytes', async (t) => {
  const big = Buffer.concat(Array.from({ length: 2000 }, (_, i) => frame(1, `2025-01-01T10:00:00Z error: connection refused to db ${i}\n`)));
  const { docker } = await fakeEngine(t, { log: big });
  const { call } = await client(t, docker);
  const a = (await call({ name: 'app', maxBytes: 4096 })).structuredContent as { lines: number; window: { bytesRead: number; truncated: boolean } };
  assert.equal(a.window.bytesRead, 4096);
  assert.equal(a.window.truncated, true);
  assert.ok(a.lines > 0 && a.lines < 100, `${a.lines} lines`);
});

test('OOM kill and crash loops come from the container state when the log says nothing', async (t) => {
  const { docker } = await fakeEngine(t, { log: frame(1, '2025-01-01T10:00:00Z starting\n'), state: { OOMKilled: true, ExitCode: 137, Status: 'restarting' }, restartCount: 7 });
  const { call } = await client(t, docker);
  const a = (await call({ name: 'app' })).structuredContent as { likelyCauses: Array<{ id: string; evidence: string[] }>; state: { oomKilled: boolean; restartCount: number } };
  assert.deepEqual(a.state.oomKilled, true);
  assert.deepEqual(a.likelyCauses.map((c) => c.id), ['oom-kill', 'crash-loop']);
  assert.deepEqual(a.likelyCauses[0]!.evidence, ['Docker reports OOMKilled=true (exit code 137)']);
  assert.match(a.likelyCauses[1]!.evidence[0]!, /restarted 7 times, status restarting, last exit code 137/);
});

test('attack: a container that does not exist is NOT_FOUND', async (t) => {
  const { docker } = await fakeEngine(t, { log: Buffer.alloc(0) });
  const { call } = await client(t, docker);
  const r = await call({ name: 'ghost' });
  assert.equal(r.isError, true);
  assert.deepEqual(errorOf(r), { code: 'NOT_FOUND', message: 'no container named ghost' });
  const bad = await call({ name: '../../etc' });
  assert.equal(errorOf(bad).code, 'INVALID_ARGUMENTS');
});

test('with sampling, the client model summarizes the compact analysis (never the raw log), marked as model-written', async (t) => {
  const { docker } = await fakeEngine(t, { log: LOG });
  const { call, prompts } = await client(t, docker, { sampling: () => 'The database at 10.0.0.7:5432 refuses connections; check that it is running.' });
  const a = (await call({ name: 'app' })).structuredContent as { modelSummary: { text: string; model: string; writtenBy: string } };
  assert.equal(a.modelSummary.text, 'The database at 10.0.0.7:5432 refuses connections; check that it is running.');
  assert.equal(a.modelSummary.model, 'test-model-1');
  assert.match(a.modelSummary.writtenBy, /client's model \(sampling\).*not verified/);
  assert.equal(prompts.length, 1);
  assert.match(prompts[0]!, /"likelyCauses":\[\{"title":"Connection refused"/);
  assert.ok(!prompts[0]!.includes('starting server on port 8080'), 'lines without errors are not sent');
  const skipped = (await call({ name: 'app', summarize: false })).structuredContent as { modelSummary?: unknown };
  assert.equal(skipped.modelSummary, undefined);
  assert.equal(prompts.length, 1);
});

test('signatures mask timestamps, ids, addresses and numbers', () => {
  assert.equal(normalizeSignature('2025-01-01 10:00:00,123 request 7f3a9c0e12ab failed for 192.168.1.20:443 after 1500 ms id=550e8400-e29b-41d4-a716-446655440000'), '<ts> request <hex> failed for <ip> after <n> ms id=<uuid>');
  const an = new LogAnalyzer();
  for (let i = 0; i < 5000; i++) an.add(`error: unique failure ${'x'.repeat(i % 7)} code ${i}`);
  const r = an.result();
  assert.equal(r.errors, 5000);
  assert.equal(r.distinctSignatures, 7);
  assert.equal(r.signatures.length, 7);
});
