// The probe controller against real targets on loopback (DESIGN §10): node:http and node:https
// servers, a TCP listener, getaddrinfo for `localhost`, a tiny DNS server on 127.0.0.1 written with
// node:dgram, TLS certificates made by openssl in a temp dir, and /bin/true and /bin/false, all
// through the real ResourceStore and ControllerManager. Nothing leaves 127.0.0.1.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createProbeController, type HealthProbeSpec, type ProbeReport } from '../../controllers/probe/index.ts';
import { ControllerManager, getCondition } from '../../controllers/runtime/index.ts';
import { API_VERSION } from '../../resources/kinds.ts';
import { silentLogger } from '../../resources/log.ts';
import { ResourceStore } from '../../resources/store.ts';
import type { Condition, ResourceStatus } from '../../resources/types.ts';
import { tempDir } from '../support/manifests.ts';
import { commandAvailable, requirePart } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const T = { timeout: 60_000 };

interface Rig {
  store: ResourceStore;
  reports: ProbeReport[];
  apply(name: string, spec: HealthProbeSpec): void;
  status(name: string): ResourceStatus | undefined;
  ready(name: string): Condition | undefined;
  reportsOf(name: string): ProbeReport[];
}

async function startRig(t: TestContext, opts: { concurrency?: number; statusRefreshMs?: number } = {}): Promise<Rig> {
  const store = await ResourceStore.open();
  const manager = new ControllerManager({ store, logger: silentLogger, shutdownGraceMs: 2_000 });
  const reports: ProbeReport[] = [];
  createProbeController(manager, { store, concurrency: opts.concurrency, statusRefreshMs: opts.statusRefreshMs, onResult: (r) => reports.push(r) });
  manager.start();
  t.after(() => manager.stop());
  return {
    store,
    reports,
    apply(name, spec) {
      store.upsert({ apiVersion: API_VERSION, kind: 'HealthProbe', metadata: { name }, spec: spec as Record<string, unknown> });
    },
    status: (name) => store.get('HealthProbe', name)?.status,
    ready: (name) => getCondition(store.get('HealthProbe', name)?.status, 'Ready'),
    reportsOf: (name) => reports.filter((r) => r.name === name),
  };
}

async function listen(t: TestContext, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections?.();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

async function httpServer(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const port = await listen(t, createServer(handler));
  return `http://127.0.0.1:${port}`;
}

/** freePort returns a loopback port nobody listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function opensslAvailable(): boolean {
  return commandAvailable('openssl');
}

/** selfSigned makes a self-signed certificate for 127.0.0.1/localhost valid for `days` days from now. */
async function selfSigned(dir: string, days: number): Promise<{ key: string; cert: string }> {
  const key = join(dir, 'valid-key.pem');
  const cert = join(dir, 'valid-cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', String(days), '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
}

/** expired makes a self-signed certificate valid only in January 2020 (openssl ca can set both dates; req -x509 cannot in OpenSSL 3.0). */
async function expired(dir: string): Promise<{ key: string; cert: string }> {
  await writeFile(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = CA\n[CA]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = pol\n[pol]\ncommonName = supplied\n[ext]\nsubjectAltName = IP:127.0.0.1,DNS:localhost\nbasicConstraints = CA:FALSE\n',
  );
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '01\n');
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'old-key.pem', '-out', 'old.csr', '-subj', '/CN=localhost'], { cwd: dir });
  await run('openssl', ['ca', '-batch', '-notext', '-selfsign', '-config', 'ca.cnf', '-extensions', 'ext', '-keyfile', 'old-key.pem', '-in', 'old.csr', '-out', 'old-cert.pem', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z'], { cwd: dir });
  return { key: await readFile(join(dir, 'old-key.pem'), 'utf8'), cert: await readFile(join(dir, 'old-cert.pem'), 'utf8') };
}

async function httpsServer(t: TestContext, creds: { key: string; cert: string }): Promise<number> {
  return listen(t, createHttpsServer(creds, (_req, res) => res.end('secure')) as unknown as Server);
}

test('http: a 200 from a loopback server makes Ready True with last result, latency, counts and message', T, async (t) => {
  const base = await httpServer(t, (_req, res) => res.end('ok'));
  const rig = await startRig(t);
  rig.apply('web', { http: { url: `${base}/healthz` }, interval: '200ms' });
  await waitFor(() => rig.ready('web')?.status === 'True', { message: 'web Ready' });
  const st = rig.status('web')!;
  assert.equal(st.success, true);
  assert.equal(st.consecutiveFailures, 0);
  assert.ok((st.consecutiveSuccesses as number) >= 1);
  assert.equal(typeof st.latencySeconds, 'number');
  assert.ok(Number.isFinite(Date.parse(st.lastProbeTime as string)));
  assert.equal(st.message, `GET ${base}/healthz: HTTP 200`);
  assert.equal(rig.ready('web')!.reason, 'ProbeSucceeded');
  assert.equal(st.observedGeneration, 1);
});

test('http: unexpected status, body regex, redirects to another host are not followed, 1 MiB body cap', T, async (t) => {
  let otherHostHits = 0;
  const other = await httpServer(t, (_req, res) => {
    otherHostHits += 1;
    res.end('other');
  });
  const base = await httpServer(t, (req, res) => {
    if (req.url === '/missing') return res.writeHead(404).end('no');
    if (req.url === '/moved') return res.writeHead(302, { location: `${other.replace('127.0.0.1', 'localhost')}/` }).end();
    if (req.url === '/big') {
      // 2 MiB of filler, then the marker: past the cap, so bodyRegex must not see it.
      res.write(Buffer.alloc(2 * 1024 * 1024, 'x'));
      return res.end('MARKER');
    }
    res.end('{"status":"green"}');
  });
  const rig = await startRig(t);
  rig.apply('missing', { http: { url: `${base}/missing` }, interval: '200ms', failureThreshold: 1 });
  rig.apply('body-ok', { http: { url: `${base}/`, bodyRegex: '"status":"green"' }, interval: '200ms' });
  rig.apply('body-bad', { http: { url: `${base}/`, bodyRegex: '"status":"red"' }, interval: '200ms', failureThreshold: 1 });
  rig.apply('moved', { http: { url: `${base}/moved`, expectStatus: [200] }, interval: '200ms', failureThreshold: 1 });
  rig.apply('big', { http: { url: `${base}/big`, bodyRegex: 'MARKER' }, interval: '200ms', failureThreshold: 1 });
  await waitFor(() => ['missing', 'body-bad', 'moved', 'big'].every((n) => rig.ready(n)?.status === 'False') && rig.ready('body-ok')?.status === 'True', {
    message: 'all five decided',
  });
  assert.equal(rig.status('missing')!.message, `GET ${base}/missing: HTTP 404, expected 200-399`);
  assert.match(rig.status('body-bad')!.message as string, /body does not match \/"status":"red"\//);
  assert.match(rig.status('moved')!.message as string, /HTTP 302 \(redirect to http:\/\/localhost:\d+\/ not followed\), expected 200/);
  assert.equal(otherHostHits, 0, 'the redirect target was never requested');
  assert.match(rig.status('big')!.message as string, /body does not match \/MARKER\//);
});

test('http: a catastrophic bodyRegex is stopped and fails the probe; other probes keep running', T, async (t) => {
  const base = await httpServer(t, (req, res) => res.end(req.url === '/evil' ? `${'a'.repeat(40)}!` : 'fine'));
  const rig = await startRig(t);
  rig.apply('evil', { http: { url: `${base}/evil`, bodyRegex: '^(a+)+$' }, interval: '200ms', failureThreshold: 1 });
  rig.apply('fine', { http: { url: `${base}/` }, interval: '200ms' });
  await waitFor(() => rig.ready('evil')?.status === 'False' && rig.ready('fine')?.status === 'True', { message: 'evil False, fine True' });
  assert.match(rig.status('evil')!.message as string, /bodyRegex took longer than 100 ms and was stopped/);
});

test('https: TLS verification is on by default (self-signed fails); insecureSkipVerify accepts it', T, async (t) => {
  if (!(await requirePart(t, 'openssl', opensslAvailable, 'apt-get install -y openssl'))) return;
  const port = await httpsServer(t, await selfSigned(await tempDir(t), 30));
  const rig = await startRig(t);
  rig.apply('strict', { http: { url: `https://127.0.0.1:${port}/` }, interval: '200ms', failureThreshold: 1 });
  rig.apply('lenient', { http: { url: `https://127.0.0.1:${port}/`, insecureSkipVerify: true }, interval: '200ms' });
  await waitFor(() => rig.ready('strict')?.status === 'False' && rig.ready('lenient')?.status === 'True', { message: 'strict False, lenient True' });
  assert.match(rig.status('strict')!.message as string, /certificate verification failed: self-signed certificate/);
});

test('tcp: an open listener succeeds; a port nobody listens on is Ready=False only after failureThreshold, with "connection refused"', T, async (t) => {
  const listener = createTcpServer((socket) => socket.destroy());
  const open = await listen(t, listener as unknown as Server);
  const closed = await freePort();
  const rig = await startRig(t);
  rig.apply('open', { tcp: { host: '127.0.0.1', port: open }, interval: '100ms' });
  rig.apply('closed', { tcp: { host: '127.0.0.1', port: closed }, interval: '100ms', failureThreshold: 3 });
  await waitFor(() => rig.ready('closed')?.status === 'False' && rig.ready('open')?.status === 'True', { message: 'closed False, open True' });
  const seq = rig.reportsOf('closed').slice(0, 3);
  assert.deepEqual(
    seq.map((r) => [r.consecutiveFailures, r.ready]),
    [
      [1, 'Unknown'],
      [2, 'Unknown'],
      [3, 'False'],
    ],
    'Ready turns False on the third failure in a row, not before',
  );
  const st = rig.status('closed')!;
  assert.equal(st.message, `connect 127.0.0.1:${closed}: connection refused`);
  assert.equal(rig.ready('closed')!.message, `connect 127.0.0.1:${closed}: connection refused`);
  assert.equal(st.success, false);
  assert.ok((st.consecutiveFailures as number) >= 3);
});

test('thresholds: a server that fails twice then succeeds goes False, then True only after successThreshold successes', T, async (t) => {
  let hits = 0;
  const base = await httpServer(t, (_req, res) => {
    hits += 1;
    res.writeHead(hits <= 2 ? 503 : 200).end();
  });
  const rig = await startRig(t);
  rig.apply('flaky', { http: { url: base }, interval: '100ms', failureThreshold: 2, successThreshold: 3 });
  await waitFor(() => rig.reportsOf('flaky').length >= 5, { message: 'five probes' });
  assert.deepEqual(
    rig.reportsOf('flaky').slice(0, 5).map((r) => [r.success, r.ready]),
    [
      [false, 'Unknown'],
      [false, 'False'],
      [true, 'False'],
      [true, 'False'],
      [true, 'True'],
    ],
  );
  await waitFor(() => rig.ready('flaky')?.status === 'True', { message: 'flaky Ready in the store' });
});

test('no overlap: a slow target never sees two probes of the same HealthProbe at once; probes of others still run', T, async (t) => {
  const inFlight = new Map<string, number>();
  let maxSame = 0;
  const base = await httpServer(t, (req, res) => {
    const path = req.url ?? '/';
    const n = (inFlight.get(path) ?? 0) + 1;
    inFlight.set(path, n);
    maxSame = Math.max(maxSame, n);
    setTimeout(() => {
      inFlight.set(path, (inFlight.get(path) ?? 1) - 1);
      res.end('slow');
    }, 300);
  });
  const rig = await startRig(t, { concurrency: 4 });
  // Interval 100ms, each probe takes 300ms: an overlapping scheduler would stack requests up.
  rig.apply('slow-a', { http: { url: `${base}/a` }, interval: '100ms' });
  rig.apply('slow-b', { http: { url: `${base}/b` }, interval: '100ms' });
  await waitFor(() => rig.reportsOf('slow-a').length >= 5 && rig.reportsOf('slow-b').length >= 5, { message: 'five probes each' });
  assert.equal(maxSame, 1, 'never two requests of one probe at the same time');
  for (const r of rig.reportsOf('slow-a')) assert.equal(r.success, true);
});

test('dns: real resolution of localhost; a .invalid name fails without a query', T, async (t) => {
  const rig = await startRig(t);
  rig.apply('localhost', { dns: { name: 'localhost', expect: '127.0.0.1' }, interval: '200ms' });
  rig.apply('nowhere', { dns: { name: 'nothing-here.invalid' }, interval: '200ms', failureThreshold: 1 });
  await waitFor(() => rig.ready('localhost')?.status === 'True' && rig.ready('nowhere')?.status === 'False', { message: 'localhost True, nowhere False' });
  assert.match(rig.status('localhost')!.message as string, /^A localhost: .*127\.0\.0\.1/);
  assert.match(rig.status('nowhere')!.message as string, /A nothing-here\.invalid: does not resolve \(NXDOMAIN\)/);
});

/** startDnsServer answers A queries for `names` with their address and NXDOMAIN for everything else. */
async function startDnsServer(t: TestContext, names: Record<string, string>): Promise<{ port: number; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    const labels: string[] = [];
    let i = 12;
    while (msg[i]) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString('ascii'));
      i += msg[i]! + 1;
    }
    const questionEnd = i + 5;
    const name = labels.join('.').toLowerCase();
    queries.push(name);
    const qtype = msg.readUInt16BE(i + 1);
    const address = names[name];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    const answer = address && qtype === 1;
    header.writeUInt16BE(answer ? 0x8180 : address ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer ? 1 : 0, 6);
    const question = msg.subarray(12, questionEnd);
    const parts = [header, question];
    if (answer) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(30, 6);
      rr.writeUInt16BE(4, 10);
      address.split('.').forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
      parts.push(rr);
    }
    socket.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, queries };
}

test('dns: a loopback DNS server given by server/port answers, NXDOMAIN fails, expect is checked', T, async (t) => {
  const dns = await startDnsServer(t, { 'app.example.test': '127.0.0.42' });
  const rig = await startRig(t);
  const at = { server: '127.0.0.1', port: dns.port };
  rig.apply('app', { dns: { name: 'app.example.test', expect: '127.0.0.42', ...at }, interval: '200ms' });
  rig.apply('wrong', { dns: { name: 'app.example.test', expect: '127.0.0.1', ...at }, interval: '200ms', failureThreshold: 1 });
  rig.apply('gone', { dns: { name: 'gone.example.test', ...at }, interval: '200ms', failureThreshold: 1 });
  await waitFor(() => rig.ready('app')?.status === 'True' && rig.ready('wrong')?.status === 'False' && rig.ready('gone')?.status === 'False', {
    message: 'app True, wrong and gone False',
  });
  assert.equal(rig.status('app')!.message, `A app.example.test @127.0.0.1:${dns.port}: 127.0.0.42`);
  assert.match(rig.status('wrong')!.message as string, /no answer contains "127\.0\.0\.1" \(got 127\.0\.0\.42\)/);
  assert.equal(rig.status('gone')!.message, `A gone.example.test @127.0.0.1:${dns.port}: does not resolve (NXDOMAIN)`);
  assert.ok(dns.queries.includes('gone.example.test'), 'the query went to the loopback server');
});

test('tls: days until expiry and minDaysValid; an expired or self-signed certificate fails with a clear message', T, async (t) => {
  if (!(await requirePart(t, 'openssl', opensslAvailable, 'apt-get install -y openssl'))) return;
  const dir = await tempDir(t);
  const fresh = await httpsServer(t, await selfSigned(dir, 30));
  const old = await httpsServer(t, await expired(dir));
  const rig = await startRig(t);
  rig.apply('fresh', { tls: { host: '127.0.0.1', port: fresh, insecureSkipVerify: true, minDaysValid: 7 }, interval: '200ms' });
  rig.apply('short', { tls: { host: '127.0.0.1', port: fresh, insecureSkipVerify: true, minDaysValid: 60 }, interval: '200ms', failureThreshold: 1 });
  rig.apply('untrusted', { tls: { host: 'localhost', port: fresh, minDaysValid: 7 }, interval: '200ms', failureThreshold: 1 });
  rig.apply('expired', { tls: { host: '127.0.0.1', port: old, insecureSkipVerify: true }, interval: '200ms', failureThreshold: 1 });
  await waitFor(() => rig.ready('fresh')?.status === 'True' && ['short', 'untrusted', 'expired'].every((n) => rig.ready(n)?.status === 'False'), {
    message: 'fresh True; short, untrusted, expired False',
  });
  const days = rig.status('fresh')!.daysUntilExpiry as number;
  assert.ok(days > 29 && days <= 30, `about 30 days left, got ${days}`);
  assert.match(rig.status('short')!.message as string, /fewer than minDaysValid 60 days left; certificate expires in 30\.0 days/);
  assert.match(rig.status('untrusted')!.message as string, /^tls localhost:\d+: certificate verification failed: self-signed certificate; certificate expires in/);
  assert.match(rig.status('expired')!.message as string, /the certificate has expired; certificate expired \d+\.\d days ago \(2020-02-01T00:00:00\.000Z\)/);
  assert.ok((rig.status('expired')!.daysUntilExpiry as number) < -1000);
});

test('exec: /bin/true succeeds, /bin/false fails with its exit code, a missing command is named', T, async (t) => {
  const rig = await startRig(t);
  rig.apply('yes', { exec: { command: ['/bin/true'] }, interval: '200ms' });
  rig.apply('no', { exec: { command: ['/bin/false'] }, interval: '200ms', failureThreshold: 1 });
  rig.apply('ghost', { exec: { command: ['/no/such/probe-cmd', '--flag'] }, interval: '200ms', failureThreshold: 1 });
  // The argument is passed as one argv entry, never through a shell: `;` and `$(...)` stay literal.
  rig.apply('literal', { exec: { command: ['/bin/echo', 'a; exit 3 $(false)'] }, interval: '200ms' });
  await waitFor(() => ['yes', 'literal'].every((n) => rig.ready(n)?.status === 'True') && ['no', 'ghost'].every((n) => rig.ready(n)?.status === 'False'), {
    message: 'yes and literal True; no and ghost False',
  });
  assert.equal(rig.status('no')!.message, 'exec /bin/false: exit code 1');
  assert.equal(rig.status('ghost')!.message, 'exec /no/such/probe-cmd: command not found');
  assert.equal(rig.status('literal')!.message, 'exec /bin/echo: exit code 0: a; exit 3 $(false)');
});

test('container: reads the Container status from the store; a Container that does not exist fails', T, async (t) => {
  const rig = await startRig(t);
  rig.store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: 'db' }, spec: { image: 'systemmanager-test/busybox:1' } });
  rig.store.updateStatus('Container', 'db', { state: 'running', health: 'unhealthy' });
  rig.apply('db-health', { container: { name: 'db' }, interval: '100ms', failureThreshold: 1 });
  rig.apply('nobody', { container: { name: 'nobody' }, interval: '100ms', failureThreshold: 1 });
  await waitFor(() => rig.ready('db-health')?.status === 'False' && rig.ready('nobody')?.status === 'False', { message: 'both False' });
  assert.equal(rig.status('db-health')!.message, 'Container db is running but its health is unhealthy');
  assert.equal(rig.status('nobody')!.message, 'Container nobody does not exist');
  rig.store.updateStatus('Container', 'db', { state: 'running', health: 'healthy' });
  await waitFor(() => rig.ready('db-health')?.status === 'True', { message: 'db-health True after the Container turned healthy' });
  assert.equal(rig.status('db-health')!.message, 'Container db is running and healthy');
});

test('status writes: a steady probe writes its status once, not on every probe; a change is written at once', T, async (t) => {
  let code = 200;
  const base = await httpServer(t, (_req, res) => res.writeHead(code).end());
  const rig = await startRig(t);
  let writes = 0;
  t.after(rig.store.watch((e) => {
    if (e.key === 'HealthProbe/steady' && e.statusChanged) writes += 1;
  }));
  rig.apply('steady', { http: { url: base }, interval: '100ms', failureThreshold: 1 });
  await waitFor(() => rig.reportsOf('steady').length >= 8, { message: 'eight probes' });
  assert.equal(writes, 1, 'eight identical results, one status write');
  assert.equal(rig.reportsOf('steady').filter((r) => r.statusWritten).length, 1);
  code = 500;
  await waitFor(() => rig.ready('steady')?.status === 'False', { message: 'steady False after the server broke' });
  assert.equal(rig.status('steady')!.consecutiveFailures, 1, 'the stored counts belong to the written probe');
  assert.equal(writes, 2);
});

test('spec change: a new generation resets the counts and probes at once; suspend stops probing', T, async (t) => {
  const base = await httpServer(t, (req, res) => res.writeHead(req.url === '/down' ? 500 : 200).end());
  const rig = await startRig(t);
  rig.apply('p', { http: { url: `${base}/` }, interval: '10m' });
  await waitFor(() => rig.ready('p')?.status === 'True', { message: 'p True' });
  rig.apply('p', { http: { url: `${base}/down` }, interval: '10m', failureThreshold: 1 });
  await waitFor(() => rig.ready('p')?.status === 'False', { message: 'p False right after the spec change, despite the 10m interval' });
  assert.equal(rig.status('p')!.observedGeneration, 2);
  assert.equal(rig.status('p')!.consecutiveSuccesses, 0);
  const before = rig.reportsOf('p').length;
  rig.apply('p', { http: { url: `${base}/down` }, interval: '100ms', suspend: true });
  await waitFor(() => rig.ready('p')?.reason === 'Suspended', { message: 'p Suspended' });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(rig.reportsOf('p').length, before, 'no probe ran while suspended');
  assert.equal(rig.ready('p')!.status, 'Unknown');
});

test('timeouts: a server that never answers and a command that never exits fail with "timed out" and do not pile up', T, async (t) => {
  let requests = 0;
  const base = await httpServer(t, () => {
    requests += 1; // never answers
  });
  const rig = await startRig(t);
  rig.apply('hang', { http: { url: base }, interval: '100ms', timeout: '300ms', failureThreshold: 1 });
  rig.apply('sleepy', { exec: { command: ['/bin/sleep', '30'] }, interval: '100ms', timeout: '200ms', failureThreshold: 1 });
  await waitFor(() => rig.ready('hang')?.status === 'False' && rig.ready('sleepy')?.status === 'False', { message: 'hang and sleepy False' });
  assert.equal(rig.status('hang')!.message, `GET ${base}: timed out after 300ms`);
  assert.equal(rig.status('sleepy')!.message, 'exec /bin/sleep: timed out after 200ms; killed');
  await waitFor(() => rig.reportsOf('hang').length >= 3, { message: 'three probes of hang' });
  assert.ok(requests <= rig.reportsOf('hang').length + 1, `one request per probe, none stacked (${requests} requests, ${rig.reportsOf('hang').length} probes)`);
});
