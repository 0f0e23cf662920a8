// analyze_container_logs against the real Docker engine (scripts/start-dockerd.sh): a container with
// a short, known log; one that does not exist; and one whose log is 100 MB, of which only the
// bounded window is read. Containers run with network none and are removed in t.after.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createDockerInventory, createToolRegistry } from '../../mcp/server/index.ts';
import { connect, errorOf, harness, principal } from '../unit/mcp/server/fixtures.ts';
import { DOCKER_HINT, DOCKER_SOCKET, TEST_IMAGE, commandAvailable, dockerAvailable, requirePart } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);

async function ready(t: TestContext): Promise<boolean> {
  if (!(await requirePart(t, 'Docker engine', () => dockerAvailable(), DOCKER_HINT))) return false;
  return requirePart(t, 'docker CLI', () => commandAvailable('docker'), 'apt-get install docker.io');
}

async function container(t: TestContext, name: string, script: string, ...args: string[]): Promise<string> {
  await run('docker', ['rm', '-f', name]).catch(() => undefined);
  const { stdout } = await run('docker', ['run', '-d', '--name', name, '--network', 'none', '--label', 'io.systemmanager.test=mcp-tools-logs', TEST_IMAGE, 'sh', '-c', script, ...args]);
  t.after(() => run('docker', ['rm', '-f', name]).then(() => undefined, () => undefined));
  return stdout.trim();
}

async function tool(t: TestContext) {
  const h = await harness(t);
  const services = { ...h.services, docker: createDockerInventory(DOCKER_SOCKET) };
  const registry = createToolRegistry(services, { audit: h.audit });
  const client = await connect(t, { ...h, services, registry }, principal('reader', ['container:read'], 'tok'));
  return (args: Record<string, unknown>) => client.callTool({ name: 'analyze_container_logs', arguments: args });
}

test('a real container\'s log is analyzed: signatures, causes with evidence, exit state', async (t) => {
  if (!(await ready(t))) return;
  const name = 'sm-logs-short';
  await container(t, name, 'echo "starting"; for i in 1 2 3; do echo "ERROR dial tcp 10.0.0.$i:5432: connect: connection refused" >&2; done; echo "WARN slow query took 1200 ms"; echo "open /data/x: permission denied"; exit 3');
  await waitFor(async () => (await run('docker', ['inspect', '-f', '{{.State.Status}}', name])).stdout.trim() === 'exited', { timeoutMs: 20_000, message: `${name} exits` });
  const call = await tool(t);
  const r = await call({ name });
  assert.ok(!r.isError, JSON.stringify(r.content));
  const a = r.structuredContent as { lines: number; errors: number; warnings: number; state: { status: string; exitCode: number }; signatures: Array<{ signature: string; count: number }>; likelyCauses: Array<{ id: string; occurrences: number; evidence: string[] }>; firstTimestamp: string };
  assert.deepEqual([a.lines, a.errors, a.warnings], [6, 3, 1]);
  assert.deepEqual([a.state.status, a.state.exitCode], ['exited', 3]);
  assert.deepEqual(a.signatures[0], { ...a.signatures[0], signature: 'ERROR dial tcp <ip>: connect: connection refused', count: 3 });
  assert.deepEqual(a.likelyCauses.map((c) => [c.id, c.occurrences]), [['connection-refused', 3], ['permission-denied', 1]]);
  assert.match(a.likelyCauses[0]!.evidence[0]!, /^\d{4}-\d{2}-\d{2}T.* ERROR dial tcp 10\.0\.0\.1:5432/);
  assert.match(a.firstTimestamp, /^\d{4}-/);
});

test('attack: a log request for a container that does not exist is NOT_FOUND', async (t) => {
  if (!(await ready(t))) return;
  const call = await tool(t);
  const r = await call({ name: 'sm-no-such-container-here' });
  assert.equal(r.isError, true);
  assert.deepEqual(errorOf(r), { code: 'NOT_FOUND', message: 'no container named sm-no-such-container-here' });
});

test('attack: a container with a 100 MB log is read only up to maxBytes', async (t) => {
  if (!(await ready(t))) return;
  const name = 'sm-logs-100mb';
  const line = `error: connection refused to db ${'x'.repeat(960)}`;
  await container(t, name, 'yes "$0" | head -c 100000000; echo; echo LOG-COMPLETE; sleep 3600', line);
  const logPath = (await run('docker', ['inspect', '-f', '{{.LogPath}}', name])).stdout.trim();
  // Wait for the whole 100 MB to reach Docker's log file (its last line is the marker).
  await waitFor(
    async () => {
      const fh = await open(logPath, 'r');
      try {
        const { size } = await fh.stat();
        const tailBuf = Buffer.alloc(200);
        await fh.read(tailBuf, 0, 200, Math.max(0, size - 200));
        return size > 100_000_000 && tailBuf.includes('LOG-COMPLETE');
      } finally {
        await fh.close();
      }
    },
    { timeoutMs: 120_000, intervalMs: 250, message: 'the 100 MB log is written' },
  );
  const call = await tool(t);
  const maxBytes = 4 * 1024 * 1024;
  const r = await call({ name, tail: 200_000, maxBytes });
  assert.ok(!r.isError, JSON.stringify(r.content));
  const a = r.structuredContent as { lines: number; errors: number; window: { bytesRead: number; truncated: boolean; maxBytes: number }; likelyCauses: Array<{ id: string; occurrences: number; evidence: string[] }>; signatures: Array<{ count: number }> };
  assert.equal(a.window.truncated, true);
  assert.equal(a.window.bytesRead, maxBytes, 'reading stopped at the cap');
  assert.ok(a.lines > 3000 && a.lines < 4100, `${a.lines} lines analyzed from 4 MiB of ~1 KB lines`);
  assert.equal(a.errors, a.lines);
  assert.equal(a.signatures.length, 1);
  assert.equal(a.likelyCauses[0]!.id, 'connection-refused');
  assert.equal(a.likelyCauses[0]!.evidence.length, 1, 'identical lines are one piece of evidence');
  // Without a tail the default window (10,000 lines) still stops at the default byte cap.
  const d = (await call({ name })).structuredContent as { window: { bytesRead: number; truncated: boolean; tail: number } };
  assert.equal(d.window.tail, 10_000);
  assert.equal(d.window.truncated, true);
  assert.equal(d.window.bytesRead, 8 * 1024 * 1024);
});
