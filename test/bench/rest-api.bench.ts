// Benchmark (issue 5/6: REST API and HTTP guards): what the guards (Host/Origin, bearer token,
// rate limit, body parser) cost per request, and REST reads with many resources, over real HTTP on
// loopback with keep-alive. Prints a table; asserts nothing.
//   node --import tsx test/bench/rest-api.bench.ts

import { request, Agent as HttpAgent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { mintToken, TokenIndex } from '../../controllers/token/index.ts';
import { bearerAuth, defaultAllowedHosts, hostOriginGuard, jsonBody, rateLimit, type HttpSecurityOptions } from '../../mcp/http/security.ts';
import { createRestRouter, REST_PREFIX } from '../../mcp/rest/index.ts';
import { ResourceStore } from '../../resources/store.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const RESOURCES = Number(process.env.BENCH_RESOURCES ?? 1000);

const store = await ResourceStore.open();
const tokens = new TokenIndex(store);
const minted = mintToken({ agent: 'bench', scopes: ['admin'] });
store.create(minted.resource);
for (let i = 0; i < RESOURCES; i++) {
  store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name: `c${i}`, labels: { app: `c${i}` } }, spec: { image: 'busybox:1', network: 'none', env: [{ name: 'A', value: 'b' }] } });
}
let port = 0;
const opts: HttpSecurityOptions = { tokens, allowedHosts: () => defaultAllowedHosts(port), rateLimitPerMinute: 1e9 };
const app = express();
app.get('/bare', (_req, res) => {
  res.json({ ok: true });
});
app.use(REST_PREFIX, hostOriginGuard(opts), bearerAuth(opts), rateLimit(opts), jsonBody(opts), createRestRouter({ store }));
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
port = (server.address() as AddressInfo).port;
const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });

function get(path: string, auth: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = auth ? { authorization: `Bearer ${minted.token}` } : {};
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
    req.end();
  });
}

async function measure(name: string, path: string, auth: boolean, count: number): Promise<string[]> {
  for (let i = 0; i < Math.min(50, count); i++) await get(path, auth); // warm up
  const times: number[] = [];
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    bytes = await get(path, auth);
    times.push(performance.now() - t0);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(3);
  return [name, String(count), (count / (total / 1000)).toFixed(0), pct(0.5), pct(0.99), String(bytes)];
}

const rows = [
  ['case', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'body bytes'],
  await measure('no guards (express baseline)', '/bare', false, REQUESTS),
  await measure('guards + 401 (no token)', `${REST_PREFIX}/whoami`, false, REQUESTS),
  await measure('guards + whoami', `${REST_PREFIX}/whoami`, true, REQUESTS),
  await measure('guards + get one container', `${REST_PREFIX}/containers/c1`, true, REQUESTS),
  await measure(`guards + list ${RESOURCES} containers`, `${REST_PREFIX}/containers`, true, Math.max(20, Math.floor(REQUESTS / 20))),
  await measure('guards + describe', `${REST_PREFIX}/containers/c1/describe`, true, REQUESTS),
  // The first row also pays for JIT warm-up of the whole process; measured again once everything is warm.
  await measure('no guards, warm (baseline again)', '/bare', false, REQUESTS),
];
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
agent.destroy();
server.close();
tokens.close();
