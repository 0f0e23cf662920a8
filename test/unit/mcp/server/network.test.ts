import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isIP, type Socket } from 'node:net';
import type { ConnectionInfo } from '../../../../controllers/host/index.ts';
import { createToolRegistry, type NetworkServices } from '../../../../mcp/server/index.ts';
import { AddressPolicy, blockedReason, validateHost } from '../../../../mcp/server/hygiene/index.ts';
import { parsePing, parseTraceroute } from '../../../../mcp/server/tools/network.ts';
import { connect, errorOf, fakeHostReader, harness, principal } from './fixtures.ts';

const CONNECTIONS: ConnectionInfo[] = [
  { protocol: 'tcp', localAddress: '127.0.0.1', localPort: 8080, peerAddress: '0.0.0.0', peerPort: 0, state: 'LISTEN', pid: 10, process: 'node' },
  { protocol: 'tcp', localAddress: '127.0.0.1', localPort: 8080, peerAddress: '127.0.0.1', peerPort: 50000, state: 'ESTABLISHED' },
  { protocol: 'tcp6', localAddress: '::1', localPort: 9090, peerAddress: '::', peerPort: 0, state: 'LISTEN' },
  { protocol: 'udp', localAddress: '127.0.0.53', localPort: 53, peerAddress: '0.0.0.0', peerPort: 0, state: '' },
];

/** network builds a client with a resolver and connector that record every use and never reach the network. */
async function network(t: TestContext, net: NetworkServices = {}) {
  const h = await harness(t);
  const attempts: string[] = [];
  const services = {
    ...h.services,
    hostReader: { ...fakeHostReader(), connections: async () => CONNECTIONS },
    network: {
      resolve: async (name: string) => {
        attempts.push(`resolve ${name}`);
        throw new Error(`test resolver: ${name} must not be resolved`);
      },
      connect: (target: { address: string }): Socket => {
        attempts.push(`connect ${target.address}`);
        throw new Error(`test connector: no connection to ${target.address} may be made`);
      },
      ...net,
    },
  };
  const registry = createToolRegistry(services, { audit: h.audit });
  const client = await connect(t, { ...h, services, registry }, principal('diag', ['network:diag', 'network:read'], 'tok'));
  const call = (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args });
  return { call, attempts };
}

const refused = (result: unknown) => {
  const r = result as { isError?: boolean; content?: unknown };
  assert.equal(r.isError, true, 'the call is refused');
  return errorOf(r);
};

test('attack: hosts with shell syntax, options, newlines or over-long labels are refused before anything runs', async (t) => {
  const { call, attempts } = await network(t);
  const cases: Array<[string, RegExp]> = [
    ['x;id', /refused host "x;id": shell syntax is not allowed/],
    ['$(id)', /refused host "\$\(id\)": shell syntax is not allowed/],
    ['`id`', /refused host "`id`": shell syntax is not allowed/],
    ['-oProxyCommand=x', /refused host "-oProxyCommand=x": a host never starts with "-"/],
    ['localhost\nid', /whitespace, newlines and NUL are not allowed/],
    [`${'a'.repeat(300)}.example`, /a hostname is at most 253 characters with labels of at most 63/],
    [`${'a'.repeat(64)}.example`, /labels of at most 63/],
    ['2130706433', /neither an IP address nor a hostname/],
  ];
  for (const tool of ['ping_host', 'traceroute', 'test_port_connectivity', 'check_ssl_certificate']) {
    for (const [host, why] of cases) {
      const r = await call(tool, { host, ...(tool === 'test_port_connectivity' ? { port: 80 } : {}) });
      const e = refused(r);
      if (host.length > 253) {
        assert.equal(e.code, 'INVALID_ARGUMENTS', `${tool} ${host.slice(0, 10)}`);
        assert.match(e.message, /\/host: must NOT have more than 253 characters/);
        continue;
      }
      assert.equal(e.code, 'HOST_INVALID', `${tool} ${host}`);
      assert.match(e.message, why, `${tool} ${host}`);
    }
  }
  const dns = refused(await call('dns_lookup', { name: '$(id)', type: 'A' }));
  assert.equal(dns.code, 'HOST_INVALID');
  assert.deepEqual(attempts, []);
  // 300-character labels are refused by the validator itself too (the schema caps the whole host first).
  assert.throws(() => validateHost(`${'a'.repeat(300)}`), /at most 253 characters/);
});

test('attack: ping count 1e9 and traceroute 1,000 hops are refused by the caps', async (t) => {
  const { call } = await network(t);
  const ping = refused(await call('ping_host', { host: '127.0.0.1', count: 1e9 }));
  assert.equal(ping.code, 'INVALID_ARGUMENTS');
  assert.match(ping.message, /\/count: must be <= 10/);
  const slow = refused(await call('ping_host', { host: '127.0.0.1', timeoutSeconds: 3600 }));
  assert.match(slow.message, /\/timeoutSeconds: must be <= 10/);
  const trace = refused(await call('traceroute', { host: '127.0.0.1', maxHops: 1000 }));
  assert.equal(trace.code, 'INVALID_ARGUMENTS');
  assert.match(trace.message, /\/maxHops: must be <= 30/);
});

test('attack: http_request_test refuses metadata, loopback in every spelling, other schemes and credentials without connecting', async (t) => {
  const { call, attempts } = await network(t);
  const cases: Array<[string, string, RegExp]> = [
    ['http://169.254.169.254/latest/meta-data/', 'ADDRESS_BLOCKED', /169\.254\.169\.254 is a cloud metadata address/],
    ['http://127.1/', 'ADDRESS_BLOCKED', /127\.0\.0\.1 is a loopback address \(127\.0\.0\.0\/8\)/],
    ['http://2130706433/', 'ADDRESS_BLOCKED', /127\.0\.0\.1 is a loopback address/],
    ['http://0x7f000001/', 'ADDRESS_BLOCKED', /loopback/],
    ['http://[::ffff:127.0.0.1]/', 'ADDRESS_BLOCKED', /loopback address \(127\.0\.0\.0\/8\) \(127\.0\.0\.1, embedded in ::ffff:7f00:1\)/],
    ['http://[::1]/', 'ADDRESS_BLOCKED', /::1 is a loopback address/],
    ['http://0.0.0.0/', 'ADDRESS_BLOCKED', /unspecified/],
    ['http://10.1.2.3/', 'ADDRESS_BLOCKED', /private address \(RFC 1918\)/],
    ['http://100.100.1.1/', 'ADDRESS_BLOCKED', /CGNAT\/tailnet/],
    ['http://[fd7a:115c:a1e0::1]/', 'ADDRESS_BLOCKED', /tailnet address/],
    ['http://[fe80::1]/', 'ADDRESS_BLOCKED', /link-local/],
    ['file:///etc/passwd', 'URL_INVALID', /only http and https URLs are allowed, not file/],
    ['gopher://127.0.0.1:70/_x', 'URL_INVALID', /not gopher/],
    ['http://user:secret@example.com/', 'URL_INVALID', /URLs with credentials .* are not allowed/],
    ['not a url', 'URL_INVALID', /not an absolute URL/],
  ];
  for (const [url, code, why] of cases) {
    const e = refused(await call('http_request_test', { url }));
    assert.equal(e.code, code, url);
    assert.match(e.message, why, url);
    assert.match(e.message, /refused/, url);
  }
  assert.deepEqual(attempts, [], 'nothing was resolved or connected');
});

test('attack: a public-looking name that resolves to 127.0.0.1 is refused after one resolution', async (t) => {
  const { call, attempts } = await network(t, {
    resolve: async (name) => {
      attempts.push(`resolve ${name}`);
      return [{ address: '93.184.215.14', family: 4 }, { address: '127.0.0.1', family: 4 }];
    },
  });
  const e = refused(await call('http_request_test', { url: 'http://www.example-public.com/' }));
  assert.equal(e.code, 'ADDRESS_BLOCKED');
  assert.match(e.message, /www\.example-public\.com resolves to 127\.0\.0\.1, a loopback address/);
  assert.deepEqual(attempts, ['resolve www.example-public.com'], 'resolved once, connected never');
});

test('the allowlist admits a listed CIDR or host name and nothing else', () => {
  const policy = new AddressPolicy(['127.0.0.1/32', 'internal.example', 'fd00::/8']);
  assert.equal(policy.refusal('anything', '127.0.0.1'), undefined);
  assert.match(policy.refusal('anything', '127.0.0.2') ?? '', /loopback/);
  assert.equal(policy.refusal('anything', '::ffff:127.0.0.1'), undefined);
  assert.equal(policy.refusal('internal.example', '10.0.0.5'), undefined);
  assert.match(policy.refusal('other.example', '10.0.0.5') ?? '', /private/);
  assert.equal(policy.refusal('x', 'fd00::5'), undefined);
  assert.equal(policy.refusal('x', '93.184.215.14'), undefined);
  assert.throws(() => new AddressPolicy(['10.0.0.0/33']), /invalid prefix length/);
  assert.throws(() => new AddressPolicy(['$(id)']), /neither a CIDR/);
  for (const [address, what] of [
    ['64:ff9b::7f00:1', /loopback/],
    ['2002:7f00:1::1', /loopback/],
    ['::', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['fd00:ec2::254', /metadata/],
  ] as const) {
    assert.match(blockedReason(address) ?? '', what, address);
  }
  assert.equal(blockedReason('8.8.8.8'), undefined);
  assert.equal(blockedReason('2606:4700::1111'), undefined);
  assert.ok(isIP('::ffff:127.0.0.1'));
});

test('get_active_connections filters by state, port and protocol', async (t) => {
  const { call } = await network(t);
  const listen = (await call('get_active_connections', { state: 'listen' })).structuredContent as { total: number; matched: number; connections: ConnectionInfo[] };
  assert.deepEqual([listen.total, listen.matched], [4, 2]);
  assert.deepEqual(listen.connections.map((c) => c.localPort), [8080, 9090]);
  const port = (await call('get_active_connections', { port: 8080 })).structuredContent as { connections: ConnectionInfo[] };
  assert.deepEqual(port.connections.map((c) => c.state), ['LISTEN', 'ESTABLISHED']);
  const udp = (await call('get_active_connections', { protocol: 'udp' })).structuredContent as { connections: ConnectionInfo[] };
  assert.deepEqual(udp.connections.map((c) => c.localPort), [53]);
  const bad = refused(await call('get_active_connections', { state: 'LISTEN; rm -rf /' }));
  assert.equal(bad.code, 'INVALID_ARGUMENTS');
});

test('ping and traceroute output is parsed', () => {
  const ping = parsePing('PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms\n64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.061 ms\n\n--- 127.0.0.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 1001ms\nrtt min/avg/max/mdev = 0.045/0.053/0.061/0.008 ms\n');
  assert.deepEqual([ping.transmitted, ping.received, ping.lossPercent, ping.rttMs?.avg, ping.replies.length], [2, 2, 0, 0.053, 2]);
  const hops = parseTraceroute('traceroute to 10.0.0.1 (10.0.0.1), 30 hops max, 60 byte packets\n 1  192.168.1.1  0.512 ms  0.480 ms\n 2  * * *\n 3  10.0.0.1  3.1 ms\n');
  assert.deepEqual(hops, [
    { hop: 1, probes: [{ address: '192.168.1.1', rttMs: 0.512 }, { address: '192.168.1.1', rttMs: 0.48 }] },
    { hop: 2, probes: [{}, {}, {}] },
    { hop: 3, probes: [{ address: '10.0.0.1', rttMs: 3.1 }] },
  ]);
});
