// Benchmark (issue 7): analyze_container_logs over logs of 10k, 100k and 1M lines, with the default
// window (tail 10,000, 8 MiB) and the largest (tail 200,000, 64 MiB): wall time and peak memory
// (RSS and heap during the call) per run, each in a fresh child process, and the tokens (o200k) of the
// analysis against the raw log window it summarizes. The Docker engine is a fake on a unix socket in
// the parent process that streams multiplexed frames and honours `tail`, like dockerd's json-file
// reader. Prints tables; asserts nothing.
//   node --import tsx test/bench/logs.bench.ts

import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encode as tokens } from 'gpt-tokenizer/encoding/o200k_base';
import { encode as toon } from '@toon-format/toon';

const BASE = Date.parse('2025-06-01T00:00:00Z');

/** logLine is line i of the synthetic log (deterministic): mostly requests, some slow queries, a few failures. */
function logLine(i: number): string {
  const ts = new Date(BASE + i * 10).toISOString().replace('Z', '000000Z');
  const r = (i * 2654435761) % 1000;
  let text: string;
  if (r < 850) text = `INFO GET /api/items/${(i * 7919) % 100000} 200 ${r % 90}ms`;
  else if (r < 930) text = `WARN slow query ${200 + (r % 800)} ms on table t${r % 12}`;
  else if (r < 980) text = `ERROR dial tcp 10.0.${r % 4}.${i % 250}:5432: connect: connection refused`;
  else if (r < 990) text = `ERROR write /var/lib/app/${(i * 48271).toString(16).padStart(8, '0')}.tmp: no space left on device`;
  else text = `panic: runtime error: index out of range [${i % 64}] with length ${i % 64}`;
  return `${ts} ${text}\n`;
}

function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = i2stream(text);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
const i2stream = (text: string) => (/ERROR|panic|WARN/.test(text) ? 2 : 1);

async function child(socket: string, tail: number, maxBytes: number): Promise<void> {
  const { createDockerInventory, createToolRegistry } = await import('../../mcp/server/index.ts');
  const { ResourceStore } = await import('../../resources/store.ts');
  const { expandScopes } = await import('../../resources/scopes.ts');
  const store = await ResourceStore.open();
  const services = { store, hostName: 'bench', hostReader: {} as never, docker: createDockerInventory(socket, { timeoutMs: 60_000 }), version: 'bench', startedAt: new Date() };
  const registry = createToolRegistry(services);
  const principal = { identity: { agent: 'bench' }, scopes: expandScopes(['admin']) };
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = 0;
  let rssPeak = rssBefore;
  const sample = () => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
  };
  const sampler = setInterval(sample, 2);
  const t0 = performance.now();
  const result = await registry.call('analyze_container_logs', { name: 'app', tail, maxBytes }, principal, AbortSignal.timeout(600_000));
  const ms = performance.now() - t0;
  clearInterval(sampler);
  sample();
  const structured = result.structuredContent as Record<string, unknown>;
  process.stdout.write(
    `${JSON.stringify({ ms, rssBefore, rssPeak, heapBefore, heapPeak, lines: structured.lines, window: structured.window, json: JSON.stringify(structured), error: result.isError ? result.content : undefined })}\n`,
  );
  await store.close();
}

async function parent(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sm-logs-bench-'));
  const socket = join(dir, 'docker.sock');
  let total = 0;
  const server = createServer(async (req, res) => {
    if (req.url?.endsWith('/json')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Id: 'b'.repeat(64), Name: '/app', Config: { Tty: false }, RestartCount: 0, State: { Status: 'running', OOMKilled: false, ExitCode: 0 } }));
      return;
    }
    const tail = new URL(req.url!, 'http://x').searchParams.get('tail');
    const start = tail === 'all' || tail === null ? 0 : Math.max(0, total - Number(tail));
    res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
    let closed = false;
    res.on('close', () => (closed = true));
    for (let i = start; i < total && !closed; i += 256) {
      const batch: Buffer[] = [];
      for (let j = i; j < Math.min(total, i + 256); j++) batch.push(frame(logLine(j)));
      if (!res.write(Buffer.concat(batch))) {
        await new Promise<void>((ok) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            ok();
          };
          res.on('drain', done).on('close', done);
        });
      }
    }
    res.end();
  });
  await new Promise<void>((ok) => server.listen(socket, ok));
  const self = fileURLToPath(import.meta.url);
  const windows = [
    { label: 'default (tail 10k, 8 MiB)', tail: 10_000, maxBytes: 8 * 1024 * 1024 },
    { label: 'max (tail 200k, 64 MiB)', tail: 200_000, maxBytes: 64 * 1024 * 1024 },
  ];
  const rows: string[][] = [];
  const tokenRows: string[][] = [];
  for (const size of [10_000, 100_000, 1_000_000]) {
    total = size;
    for (const w of windows) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', socket, String(w.tail), String(w.maxBytes)], { maxBuffer: 64 * 1024 * 1024 });
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ms: number; rssBefore: number; rssPeak: number; heapBefore: number; heapPeak: number; lines: number; window: { bytesRead: number; truncated: boolean }; json: string; error?: unknown };
      if (r.error) throw new Error(JSON.stringify(r.error));
      const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
      rows.push([size.toLocaleString('en'), w.label, r.lines.toLocaleString('en'), mb(r.window.bytesRead), r.window.truncated ? 'yes' : 'no', r.ms.toFixed(0), mb(r.rssBefore), mb(r.rssPeak), mb(r.rssPeak - r.rssBefore), mb(r.heapBefore), mb(r.heapPeak), mb(r.heapPeak - r.heapBefore), ((r.lines / r.ms) * 1000).toFixed(0)]);
      if (size === 100_000) {
        // The raw window: the lines the analysis read (the last `tail`, up to the byte cap), as an agent would get them.
        let raw = 0;
        let chunk = '';
        let bytes = 0;
        for (let i = Math.max(0, size - w.tail); i < size && bytes < r.window.bytesRead; i++) {
          const line = logLine(i);
          bytes += Buffer.byteLength(line) + 8;
          chunk += line;
          if (chunk.length > 200_000) {
            raw += tokens(chunk).length;
            chunk = '';
          }
        }
        raw += tokens(chunk).length;
        const analysis = JSON.parse(r.json) as Record<string, unknown>;
        const jsonTokens = tokens(r.json).length;
        const toonTokens = tokens(toon(analysis)).length;
        tokenRows.push([w.label, r.lines.toLocaleString('en'), raw.toLocaleString('en'), jsonTokens.toLocaleString('en'), toonTokens.toLocaleString('en'), `${(raw / jsonTokens).toFixed(0)}x`, `${(raw / toonTokens).toFixed(0)}x`]);
      }
    }
  }
  server.close();
  await rm(dir, { recursive: true, force: true });
  const table = (head: string[], body: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
    return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
  };
  console.log(`analyze_container_logs (node ${process.version}, one fresh process per run; memory: RSS before the call, and peak RSS and V8 heap during it, sampled every 2 ms)\n`);
  console.log(table(['log lines', 'window', 'analyzed', 'MiB read', 'cut', 'ms', 'RSS before MiB', 'peak RSS MiB', 'RSS growth MiB', 'heap before MiB', 'peak heap MiB', 'heap growth MiB', 'lines/s'], rows));
  console.log('\ntokens (o200k_base) for the 100,000-line log: the analysis (JSON and TOON text) vs the raw window it summarizes\n');
  console.log(table(['window', 'lines', 'raw window tokens', 'analysis JSON tokens', 'analysis TOON tokens', 'ratio JSON', 'ratio TOON'], tokenRows));
}

if (process.argv[2] === '--child') await child(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
else await parent();
