// The network tools against real parts on loopback only: the real ping and traceroute binaries
// (127.0.0.1 and ::1), a DNS server, TCP and TLS listeners and HTTP servers on 127.0.0.1/::1. The
// resolver and connector handed to the tools fail the test on any address outside loopback, so
// even a broken guard cannot send traffic off this machine.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createTcpServer, isIP, type AddressInfo, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createToolRegistry, type NetworkServices } from '../../mcp/server/index.ts';
import { connect, errorOf, harness, principal } from '../unit/mcp/server/fixtures.ts';
import { tempDir } from '../support/manifests.ts';
import { commandAvailable, requirePart } from '../support/parts.ts';

const loopback = (a: string) => (isIP(a) === 4 && a.startsWith('127.')) || a === '::1';

/** tools builds a client whose resolver and connector refuse (and record) anything but loopback. */
async function tools(t: TestContext, net: Partial<NetworkServices> = {}) {
  const h = await harness(t);
  const violations: string[] = [];
  const connects: string[] = [];
  const hosts: Record<string, string[]> = { 'www.example-public.com': ['127.0.0.1'], 'localhost': ['127.0.0.1'] };
  const network: NetworkServices = {
    resolve: async (name) => {
      const list = hosts[name];
      if (!list) {
        violations.push(`resolve ${name}`);
        throw new Error(`test resolver: ${name} is not a test name`);
      }
      return list.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
    },
    connect: (target) => {
      connects.push(`${target.address}:${target.port}`);
      if (!loopback(target.address)) {
        violations.push(`connect ${target.address}`);
        throw new Error(`test connector: ${target.address} is not loopback`);
      }
      return netConnect({ host: target.address, port: target.port });
    },
    ...net,
  };
  const services = { ...h.services, network };
  const registry = createToolRegistry(services, { audit: h.audit });
  const client = await connect(t, { ...h, services, registry }, principal('diag', ['network:diag'], 'tok'));
  t.after(() => assert.deepEqual(violations, [], 'no attempt to leave loopback'));
  return { call: (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }), connects };
}

function listen(t: TestContext, server: HttpServer | ReturnType<typeof createTcpServer>, host: string): Promise<number> {
  return new Promise((ok) => {
    server.listen(0, host, () => ok((server.address() as AddressInfo).port));
    t.after(() => new Promise<void>((done) => server.close(() => done())));
  });
}

test('ping_host pings 127.0.0.1 and ::1 with the real ping', async (t) => {
  if (!(await requirePart(t, 'ping (iputils-ping)', () => commandAvailable('ping'), 'apt-get install iputils-ping (scripts/install-deps.sh)'))) return;
  const { call } = await tools(t);
  for (const host of ['127.0.0.1', '::1']) {
    const r = (await call('ping_host', { host, count: 2, timeoutSeconds: 2 })).structuredContent as { reachable: boolean; transmitted: number; received: number; lossPercent: number; rttMs: { avg: number } };
    assert.equal(r.reachable, true, host);
    assert.deepEqual([r.transmitted, r.received, r.lossPercent], [2, 2, 0]);
    assert.equal(typeof r.rttMs.avg, 'number');
  }
});

test('traceroute reaches 127.0.0.1 and ::1 in one hop with the real traceroute', async (t) => {
  if (!(await requirePart(t, 'traceroute', () => commandAvailable('traceroute'), 'apt-get install traceroute (scripts/install-deps.sh)'))) return;
  const { call } = await tools(t);
  for (const host of ['127.0.0.1', '::1']) {
    const r = (await call('traceroute', { host, maxHops: 3, waitSeconds: 1 })).structuredContent as { reached: boolean; hops: Array<{ hop: number; probes: Array<{ address?: string }> }> };
    assert.equal(r.reached, true, host);
    assert.equal(r.hops[0]!.probes[0]!.address, host);
  }
});

test('a missing binary is named', async (t) => {
  const { call } = await tools(t);
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.after(() => {
    process.env.PATH = saved;
  });
  const r = await call('ping_host', { host: '127.0.0.1', count: 1 });
  assert.deepEqual(errorOf(r), { code: 'BINARY_MISSING', message: 'ping is not installed on this host (Debian package iputils-ping)' });
});

/** dnsServer answers a few record types for app.test on 127.0.0.1 (uncompressed names; NXDOMAIN otherwise). */
async function dnsServer(t: TestContext): Promise<string> {
  const name = (n: string) => Buffer.concat([...n.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const records: Record<string, Array<[number, Buffer]>> = {
    'app.test/1': [[1, Buffer.from([127, 0, 0, 10])]],
    'app.test/28': [[28, Buffer.from('00000000000000000000000000000001', 'hex')]],
    'app.test/15': [[15, Buffer.concat([u16(10), name('mail.app.test')])]],
    'app.test/16': [[16, Buffer.concat([Buffer.from([11]), Buffer.from('v=spf1 -all')])]],
    'app.test/2': [[2, name('ns1.app.test')]],
    'www.app.test/5': [[5, name('app.test')]],
    '_http._tcp.app.test/33': [[33, Buffer.concat([u16(0), u16(5), u16(8080), name('app.test')])]],
    '10.0.0.127.in-addr.arpa/12': [[12, name('app.test')]],
  };
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    let i = 12;
    const labels: string[] = [];
    while (msg[i]! > 0) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString());
      i += msg[i]! + 1;
    }
    const qtype = msg.readUInt16BE(i + 1);
    const question = msg.subarray(12, i + 5);
    const answers = records[`${labels.join('.').toLowerCase()}/${qtype}`] ?? [];
    const header = Buffer.concat([msg.subarray(0, 2), u16(answers.length ? 0x8180 : 0x8183), u16(1), u16(answers.length), u16(0), u16(0)]);
    const rrs = answers.map(([type, rdata]) => Buffer.concat([Buffer.from([0xc0, 12]), u16(type), u16(1), Buffer.from([0, 0, 1, 44]), u16(rdata.length), rdata]));
    sock.send(Buffer.concat([header, question, ...rrs]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => sock.close(() => ok())));
  return `127.0.0.1:${sock.address().port}`;
}

test('dns_lookup answers A, AAAA, MX, TXT, CNAME, NS, SRV and PTR from a DNS server on loopback', async (t) => {
  const server = await dnsServer(t);
  const { call } = await tools(t, { dnsServers: [server] });
  const ask = async (name: string, type: string) => (await call('dns_lookup', { name, type })).structuredContent as { answers: unknown[]; error?: string };
  assert.deepEqual((await ask('app.test', 'A')).answers, [{ address: '127.0.0.10', ttl: 300 }]);
  assert.deepEqual((await ask('app.test', 'AAAA')).answers, [{ address: '::1', ttl: 300 }]);
  assert.deepEqual((await ask('app.test', 'MX')).answers, [{ exchange: 'mail.app.test', priority: 10 }]);
  assert.deepEqual((await ask('app.test', 'TXT')).answers, ['v=spf1 -all']);
  assert.deepEqual((await ask('www.app.test', 'CNAME')).answers, ['app.test']);
  assert.deepEqual((await ask('app.test', 'NS')).answers, ['ns1.app.test']);
  assert.deepEqual((await ask('_http._tcp.app.test', 'SRV')).answers, [{ name: 'app.test', port: 8080, priority: 0, weight: 5 }]);
  assert.deepEqual((await ask('127.0.0.10', 'PTR')).answers, ['app.test']);
  const missing = await ask('nope.test', 'A');
  assert.deepEqual(missing.answers, []);
  assert.match(missing.error!, /^ENOTFOUND/);
  const ptrName = await call('dns_lookup', { name: 'app.test', type: 'PTR' });
  assert.equal(errorOf(ptrName).code, 'HOST_INVALID');
});

test('test_port_connectivity connects to an open loopback port and reports a closed one', async (t) => {
  const server = createTcpServer((s) => s.end());
  const port = await listen(t, server, '127.0.0.1');
  const { call } = await tools(t);
  const open = (await call('test_port_connectivity', { host: '127.0.0.1', port })).structuredContent as { open: boolean; latencyMs: number; address: string };
  assert.equal(open.open, true);
  assert.equal(open.address, '127.0.0.1');
  const byName = (await call('test_port_connectivity', { host: 'localhost', port })).structuredContent as { open: boolean };
  assert.equal(byName.open, true);
  server.close();
  await new Promise((r) => setImmediate(r));
  const closedPort = await (async () => {
    const s = createTcpServer();
    const p = await new Promise<number>((ok) => s.listen(0, '127.0.0.1', () => ok((s.address() as AddressInfo).port)));
    await new Promise<void>((ok) => s.close(() => ok()));
    return p;
  })();
  const closed = (await call('test_port_connectivity', { host: '127.0.0.1', port: closedPort })).structuredContent as { open: boolean; error: string };
  assert.equal(closed.open, false);
  assert.match(closed.error, /ECONNREFUSED/);
});

async function selfSigned(t: TestContext): Promise<{ key: Buffer; cert: Buffer }> {
  const dir = await tempDir(t, 'sm-tls-');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '30', '-subj', '/CN=app.test', '-addext', 'subjectAltName=DNS:app.test,DNS:localhost,IP:127.0.0.1']);
  return { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) };
}

test('check_ssl_certificate reports chain, issuer, SANs, days left and hostname match of a loopback TLS server', async (t) => {
  if (!(await requirePart(t, 'openssl', () => commandAvailable('openssl'), 'apt-get install openssl (scripts/install-deps.sh)'))) return;
  const tls = await selfSigned(t);
  const server = createHttpsServer(tls, (_req, res) => res.end('ok'));
  const port = await listen(t, server, '127.0.0.1');
  const { call } = await tools(t);
  const r = (await call('check_ssl_certificate', { host: '127.0.0.1', port, servername: 'app.test' })).structuredContent as Record<string, unknown>;
  assert.equal(r.subject, 'app.test');
  assert.equal(r.issuer, 'app.test');
  assert.deepEqual(r.sans, ['DNS:app.test', 'DNS:localhost', 'IP Address:127.0.0.1']);
  assert.equal(r.trusted, false);
  assert.match(String(r.trustError), /SELF_SIGNED/);
  assert.equal(r.hostnameMatch, true);
  assert.ok(r.daysLeft === 29 || r.daysLeft === 30, String(r.daysLeft));
  assert.equal((r.chain as unknown[]).length, 1);
  const wrong = (await call('check_ssl_certificate', { host: '127.0.0.1', port, servername: 'other.test' })).structuredContent as { hostnameMatch: boolean; hostnameError: string };
  assert.equal(wrong.hostnameMatch, false);
  assert.match(wrong.hostnameError, /other\.test/);
  // http_request_test over TLS: the self-signed certificate fails verification unless verifyTls is off.
  const on = await tools(t, { httpAllowlist: ['127.0.0.1'] });
  const strict = errorOf(await on.call('http_request_test', { url: `https://127.0.0.1:${port}/` }));
  assert.equal(strict.code, 'HTTP_REQUEST_FAILED');
  assert.match(strict.message, /self-signed certificate/);
  const lax = (await on.call('http_request_test', { url: `https://127.0.0.1:${port}/`, verifyTls: false })).structuredContent as { status: number; bodyPreview: string; timing: { tlsMs?: number } };
  assert.deepEqual([lax.status, lax.bodyPreview, typeof lax.timing.tlsMs], [200, 'ok', 'number']);
});

test('http_request_test: loopback is refused without the allowlist, and with it the request runs with a timing breakdown and a capped body', async (t) => {
  const server = createHttpServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(200_000));
      return;
    }
    res.writeHead(204).end();
  });
  const port = await listen(t, server, '127.0.0.1');
  const off = await tools(t);
  const refused = await off.call('http_request_test', { url: `http://127.0.0.1:${port}/` });
  assert.equal(errorOf(refused).code, 'ADDRESS_BLOCKED');
  assert.match(errorOf(refused).message, /127\.0\.0\.1 is a loopback address .* not in the server's httpAllowlist/);
  assert.deepEqual(off.connects, []);

  const on = await tools(t, { httpAllowlist: ['127.0.0.1/32'] });
  const r = (await on.call('http_request_test', { url: `http://127.0.0.1:${port}/`, expectedStatus: 204 })).structuredContent as { status: number; statusMatches: boolean; timing: Record<string, number> };
  assert.equal(r.status, 204);
  assert.equal(r.statusMatches, true);
  assert.deepEqual(Object.keys(r.timing).sort(), ['connectMs', 'dnsMs', 'firstByteMs', 'totalMs']);
  const big = (await on.call('http_request_test', { url: `http://127.0.0.1:${port}/big`, maxBodyBytes: 1000 })).structuredContent as { bodyBytes: number; bodyTruncated: boolean; bodyPreview: string };
  assert.deepEqual([big.bodyBytes, big.bodyTruncated, big.bodyPreview.length], [1000, true, 1000]);
});

test('attack: a public-looking name resolving to 127.0.0.1 is refused; allowlisted by name, the connection is pinned to the checked address', async (t) => {
  const server = createHttpServer((req, res) => res.end(`host header ${req.headers.host}`));
  const port = await listen(t, server, '127.0.0.1');
  const off = await tools(t);
  const refused = await off.call('http_request_test', { url: `http://www.example-public.com:${port}/` });
  assert.equal(errorOf(refused).code, 'ADDRESS_BLOCKED');
  assert.match(errorOf(refused).message, /www\.example-public\.com resolves to 127\.0\.0\.1, a loopback address/);
  const on = await tools(t, { httpAllowlist: ['www.example-public.com'] });
  const r = (await on.call('http_request_test', { url: `http://www.example-public.com:${port}/` })).structuredContent as { bodyPreview: string; hops: Array<{ address: string }> };
  assert.equal(r.bodyPreview, `host header www.example-public.com:${port}`);
  assert.deepEqual(on.connects, [`127.0.0.1:${port}`]);
  assert.equal(r.hops[0]!.address, '127.0.0.1');
});

test('attack: a redirect to a loopback address is checked again and refused unless that address is allowlisted too', async (t) => {
  const target = createHttpServer((_req, res) => res.end('inner secret'));
  const innerPort = await listen(t, target, '::1');
  const front = createHttpServer((_req, res) => res.writeHead(302, { location: `http://[::1]:${innerPort}/admin` }).end());
  const port = await listen(t, front, '127.0.0.1');
  const narrow = await tools(t, { httpAllowlist: ['127.0.0.1/32'] });
  const refused = await narrow.call('http_request_test', { url: `http://127.0.0.1:${port}/` });
  assert.equal(errorOf(refused).code, 'ADDRESS_BLOCKED');
  assert.match(errorOf(refused).message, /^redirect from http:\/\/127\.0\.0\.1:\d+\/: refused http:\/\/\[::1\]:\d+\/: ::1 is a loopback address/);
  assert.deepEqual(narrow.connects, [`127.0.0.1:${port}`], 'the redirect target was never contacted');
  const wide = await tools(t, { httpAllowlist: ['127.0.0.1/32', '::1'] });
  const r = (await wide.call('http_request_test', { url: `http://127.0.0.1:${port}/` })).structuredContent as { status: number; finalUrl: string; bodyPreview: string; hops: Array<{ status: number }> };
  assert.equal(r.status, 200);
  assert.equal(r.finalUrl, `http://[::1]:${innerPort}/admin`);
  assert.equal(r.bodyPreview, 'inner secret');
  assert.deepEqual(r.hops.map((h) => h.status), [302, 200]);
  const noFollow = (await wide.call('http_request_test', { url: `http://127.0.0.1:${port}/`, followRedirects: false })).structuredContent as { status: number };
  assert.equal(noFollow.status, 302);
  const toFile = createHttpServer((_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end());
  const filePort = await listen(t, toFile, '127.0.0.1');
  const e = errorOf(await wide.call('http_request_test', { url: `http://127.0.0.1:${filePort}/` }));
  assert.equal(e.code, 'URL_INVALID');
  assert.match(e.message, /only http and https URLs are allowed, not file/);
});

test('http_request_test gives up after its timeout', async (t) => {
  const silent = createTcpServer(() => undefined);
  const sockets: Socket[] = [];
  silent.on('connection', (s) => sockets.push(s));
  t.after(() => sockets.forEach((s) => s.destroy()));
  const port = await listen(t, silent, '127.0.0.1');
  const { call } = await tools(t, { httpAllowlist: ['127.0.0.0/8'] });
  const e = errorOf(await call('http_request_test', { url: `http://127.0.0.1:${port}/`, timeoutMs: 300 }));
  assert.equal(e.code, 'HTTP_REQUEST_FAILED');
  assert.match(e.message, /no answer within 300 ms/);
});
