// Real Prometheus parts for tests and benchmarks (DESIGN §10): promtool's linter fed through stdin,
// a Prometheus server on loopback with a throw-away config and TSDB, and Debian's node_exporter as
// the reference exporter. Every process is started without a shell and stopped by its own pid.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.ts';

/** PROMETHEUS_HINT says how to get the parts. */
export const PROMETHEUS_HINT = 'install Debian\'s prometheus and prometheus-node-exporter packages (scripts/install-deps.sh)';

/** freePort asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** promtoolCheckMetrics pipes a scrape into `promtool check metrics` and returns its exit code and output. */
export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      if (err && code === -1) reject(err);
      else resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin!.end(text);
  });
}

/** ScrapeJob is one scrape target of the test Prometheus. */
export interface ScrapeJob {
  job: string;
  /** target: host:port on loopback. */
  target: string;
  bearer?: string;
}

/** PrometheusServer is a running Prometheus with its query API. */
export interface PrometheusServer {
  url: string;
  /** query runs an instant query and returns the result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/** startPrometheus runs /usr/bin/prometheus on 127.0.0.1 scraping `jobs` every second. */
export async function startPrometheus(jobs: ScrapeJob[]): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'sm-prom-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    ...jobs.flatMap((j) => [
      `  - job_name: ${JSON.stringify(j.job)}`,
      ...(j.bearer ? ['    authorization:', `      credentials: ${JSON.stringify(j.bearer)}`] : []),
      '    static_configs:',
      `      - targets: [${JSON.stringify(j.target)}]`,
    ]),
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config, { mode: 0o600 });
  const port = await freePort();
  const child = spawn('/usr/bin/prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    log = (log + d).slice(-8000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: 30_000, intervalMs: 100, message: 'Prometheus to become ready' });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; prometheus said: ${log}`);
  }
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await res.json()) as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
      if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
      return body.data!.result;
    },
    stop,
  };
}

/** startNodeExporter runs Debian's node_exporter on a free loopback port and returns its /metrics URL. */
export async function startNodeExporter(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('/usr/bin/prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/metrics`;
  await waitFor(async () => (await fetch(url)).ok, { timeoutMs: 30_000, intervalMs: 100, message: 'node_exporter to answer' });
  return { url, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
