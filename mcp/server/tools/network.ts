// The network diagnostics: ping_host, traceroute, dns_lookup, test_port_connectivity,
// check_ssl_certificate and http_request_test (network:diag), and get_active_connections
// (network:read). Hosts are validated first (hygiene/hosts.ts) and system programs run through
// execFile with an argument vector ending in `--` and the host, never a shell; counts, hops and
// timeouts are capped by the input schemas. http_request_test goes through the SSRF guard
// (hygiene/http-guard.ts). The resolver and connector come from the services, so tests can keep
// every connection on loopback.

import { execFile } from 'node:child_process';
import { Resolver as DnsResolver } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type DetailedPeerCertificate } from 'node:tls';
import { ToolError, type ToolRegistry } from '../framework.ts';
import { AddressPolicy } from '../hygiene/addresses.ts';
import { validateHost } from '../hygiene/hosts.ts';
import { directConnector, guardedRequest, systemResolver, type Connector, type ResolvedAddress, type Resolver } from '../hygiene/http-guard.ts';
import type { McpServices } from '../services.ts';

const DIAG = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;
const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const HOST = { type: 'string', minLength: 1, maxLength: 253, description: 'A hostname or an IP address.' };
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required });

/** BINARY_PACKAGES names the Debian package of each program the tools run, for the BINARY_MISSING message. */
export const BINARY_PACKAGES: Record<string, string> = { ping: 'iputils-ping', traceroute: 'traceroute' };

/** runProgram runs a system program with an argument vector (no shell); a missing program throws BINARY_MISSING. */
export function runProgram(file: string, args: string[], timeoutMs: number, signal: AbortSignal): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, signal, env: { PATH: process.env.PATH ?? '/usr/bin:/bin:/usr/sbin:/sbin', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new ToolError('BINARY_MISSING', `${file} is not installed on this host (Debian package ${BINARY_PACKAGES[file] ?? file})`));
        return;
      }
      if (err && (err as { killed?: boolean }).killed) {
        resolve({ stdout, stderr: `${stderr}\n${file} was stopped after ${timeoutMs} ms`, code: -1 });
        return;
      }
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

/** parsePing reads iputils ping's output. */
export function parsePing(stdout: string): { transmitted: number; received: number; lossPercent: number; rttMs?: { min: number; avg: number; max: number; mdev: number }; replies: Array<{ seq: number; ttl?: number; timeMs: number }> } {
  const replies = [...stdout.matchAll(/icmp_seq=(\d+)(?: ttl=(\d+))? time=([\d.]+) ms/g)].map((m) => ({ seq: Number(m[1]), ...(m[2] ? { ttl: Number(m[2]) } : {}), timeMs: Number(m[3]) }));
  const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received.*?([\d.]+)% packet loss/.exec(stdout);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(stdout);
  return {
    transmitted: stats ? Number(stats[1]) : 0,
    received: stats ? Number(stats[2]) : replies.length,
    lossPercent: stats ? Number(stats[3]) : 100,
    ...(rtt ? { rttMs: { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]), mdev: Number(rtt[4]) } } : {}),
    replies,
  };
}

/** parseTraceroute reads traceroute -n output into hops. */
export function parseTraceroute(stdout: string): Array<{ hop: number; probes: Array<{ address?: string; rttMs?: number }> }> {
  const hops: Array<{ hop: number; probes: Array<{ address?: string; rttMs?: number }> }> = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const probes: Array<{ address?: string; rttMs?: number }> = [];
    let address: string | undefined;
    const tokens = m[2]!.trim().split(/\s+/);
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i]!;
      if (tok === '*') probes.push({});
      else if (isIP(tok)) address = tok;
      else if (/^[\d.]+$/.test(tok) && tokens[i + 1] === 'ms') {
        probes.push({ ...(address ? { address } : {}), rttMs: Number(tok) });
        i++;
      }
    }
    hops.push({ hop: Number(m[1]), probes });
  }
  return hops;
}

async function addressesOf(host: string, resolve: Resolver, signal: AbortSignal): Promise<ResolvedAddress[]> {
  const family = isIP(host);
  if (family) return [{ address: host, family: family === 6 ? 6 : 4 }];
  try {
    const all = await resolve(host, signal);
    if (all.length === 0) throw new Error('no address');
    return all;
  } catch (err) {
    throw new ToolError('NOT_FOUND', `${host} does not resolve: ${(err as Error).message}`, { cause: err });
  }
}

function connectTcp(connect: Connector, target: ResolvedAddress & { port: number; hostname: string }, timeoutMs: number, signal: AbortSignal): Promise<{ socket: Socket; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    let socket: Socket;
    try {
      socket = connect(target, both);
    } catch (err) {
      reject(err);
      return;
    }
    const onAbort = () => {
      socket.destroy();
      reject(Object.assign(new Error(timeout.aborted ? `no answer within ${timeoutMs} ms` : 'cancelled'), { code: 'ETIMEDOUT' }));
    };
    both.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      both.removeEventListener('abort', onAbort);
      resolve({ socket, ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100 });
    });
    socket.once('error', (err) => {
      both.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}

const nameOf = (x: Record<string, string | string[]> | undefined) => {
  const cn = x?.CN;
  return Array.isArray(cn) ? cn.join(', ') : (cn ?? Object.entries(x ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '));
};

/** registerNetworkTools declares ping_host, traceroute, dns_lookup, test_port_connectivity, check_ssl_certificate, http_request_test and get_active_connections. */
export function registerNetworkTools(registry: ToolRegistry, s: McpServices): void {
  const resolve = s.network?.resolve ?? systemResolver;
  const connect = s.network?.connect ?? directConnector;
  const policy = new AddressPolicy(s.network?.httpAllowlist ?? []);

  registry.add<{ host: string; count?: number; timeoutSeconds?: number }>({
    name: 'ping_host',
    title: 'Ping',
    description: 'Send ICMP echo requests (iputils ping) to a host: packets sent and received, loss, round-trip times. count at most 10, timeout at most 10 s.',
    inputSchema: {
      type: 'object',
      properties: {
        host: HOST,
        count: { type: 'integer', minimum: 1, maximum: 10, default: 4, description: 'Echo requests to send.' },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 10, default: 5, description: 'Seconds to wait for each reply.' },
      },
      required: ['host'],
      additionalProperties: false,
    },
    outputSchema: obj({ host: { type: 'string' }, reachable: { type: 'boolean' }, transmitted: { type: 'integer' }, received: { type: 'integer' }, lossPercent: { type: 'number' }, rttMs: { type: 'object' }, replies: { type: 'array', items: { type: 'object' } }, message: { type: 'string' } }, ['host', 'reachable']),
    annotations: DIAG,
    access: 'network:diag',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const { host } = validateHost(args.host);
      const count = args.count ?? 4;
      const wait = args.timeoutSeconds ?? 5;
      const deadline = count + wait;
      const run = await runProgram('ping', ['-n', '-c', String(count), '-W', String(wait), '-w', String(deadline), '--', host], (deadline + 2) * 1000, ctx.signal);
      const parsed = parsePing(run.stdout);
      const message = run.code === 0 ? undefined : (run.stderr.trim() || run.stdout.trim().split('\n').at(-1) || `ping exited with ${run.code}`).slice(0, 300);
      return { structured: { host, reachable: parsed.received > 0, ...parsed, ...(message ? { message } : {}) } };
    },
  });

  registry.add<{ host: string; maxHops?: number; waitSeconds?: number; queries?: number }>({
    name: 'traceroute',
    title: 'Traceroute',
    description: 'Trace the route to a host (traceroute -n): one line per hop with the answering address and round-trip times. maxHops at most 30.',
    inputSchema: {
      type: 'object',
      properties: {
        host: HOST,
        maxHops: { type: 'integer', minimum: 1, maximum: 30, default: 15, description: 'Most hops to probe.' },
        waitSeconds: { type: 'integer', minimum: 1, maximum: 5, default: 2, description: 'Seconds to wait for each probe.' },
        queries: { type: 'integer', minimum: 1, maximum: 3, default: 1, description: 'Probes per hop.' },
      },
      required: ['host'],
      additionalProperties: false,
    },
    outputSchema: obj({ host: { type: 'string' }, reached: { type: 'boolean' }, hops: { type: 'array', items: obj({ hop: { type: 'integer' }, probes: { type: 'array', items: { type: 'object' } } }) }, message: { type: 'string' } }, ['host', 'hops']),
    annotations: DIAG,
    access: 'network:diag',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const { host, kind } = validateHost(args.host);
      const maxHops = args.maxHops ?? 15;
      const wait = args.waitSeconds ?? 2;
      const queries = args.queries ?? 1;
      const budget = Math.min(120_000, (maxHops * queries * wait + 5) * 1000);
      const run = await runProgram('traceroute', ['-n', ...(kind === 'ipv6' ? ['-6'] : []), '-m', String(maxHops), '-w', String(wait), '-q', String(queries), '--', host], budget, ctx.signal);
      const hops = parseTraceroute(run.stdout);
      const reached = hops.some((h) => h.probes.some((p) => p.address === host));
      const message = run.code === 0 ? undefined : (run.stderr.trim() || `traceroute exited with ${run.code}`).slice(0, 300);
      return { structured: { host, reached, hops, ...(message ? { message } : {}) } };
    },
  });

  type DnsType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'CNAME' | 'NS' | 'SRV' | 'PTR';
  registry.add<{ name: string; type?: DnsType; timeoutMs?: number }>({
    name: 'dns_lookup',
    title: 'DNS lookup',
    description: 'Query DNS for a name: A, AAAA, MX, TXT, CNAME, NS, SRV, or PTR (give an IP address for PTR). Uses the host\'s resolvers (or the server\'s configured DNS servers).',
    inputSchema: {
      type: 'object',
      properties: {
        name: { ...HOST, description: 'The name to look up (an IP address for PTR).' },
        type: { type: 'string', enum: ['A', 'AAAA', 'MX', 'TXT', 'CNAME', 'NS', 'SRV', 'PTR'], default: 'A' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 10_000, default: 3000, description: 'Per-try timeout.' },
      },
      required: ['name'],
      additionalProperties: false,
    },
    outputSchema: obj({ name: { type: 'string' }, type: { type: 'string' }, answers: { type: 'array', items: {} }, error: { type: 'string' }, timeMs: { type: 'number' } }, ['name', 'type', 'answers']),
    annotations: DIAG,
    access: 'network:diag',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      const type = args.type ?? 'A';
      const { host, kind } = validateHost(args.name);
      if (type === 'PTR' && kind === 'hostname') throw new ToolError('HOST_INVALID', `PTR lookups take an IP address, not ${JSON.stringify(host)}`);
      const r = new DnsResolver({ timeout: args.timeoutMs ?? 3000, tries: 2 });
      if (s.network?.dnsServers?.length) r.setServers([...s.network.dnsServers]);
      const started = process.hrtime.bigint();
      let answers: unknown[] = [];
      let error: string | undefined;
      try {
        switch (type) {
          case 'A':
            answers = await r.resolve4(host, { ttl: true });
            break;
          case 'AAAA':
            answers = await r.resolve6(host, { ttl: true });
            break;
          case 'MX':
            answers = (await r.resolveMx(host)).sort((a, b) => a.priority - b.priority);
            break;
          case 'TXT':
            answers = (await r.resolveTxt(host)).map((parts) => parts.join(''));
            break;
          case 'CNAME':
            answers = await r.resolveCname(host);
            break;
          case 'NS':
            answers = await r.resolveNs(host);
            break;
          case 'SRV':
            answers = await r.resolveSrv(host);
            break;
          case 'PTR':
            answers = await r.reverse(host);
            break;
        }
      } catch (err) {
        error = `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${(err as Error).message}`;
      }
      const timeMs = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
      return { structured: { name: host, type, answers, ...(error ? { error } : {}), timeMs } };
    },
  });

  registry.add<{ host: string; port: number; timeoutMs?: number }>({
    name: 'test_port_connectivity',
    title: 'Test a TCP port',
    description: 'Open a TCP connection to host:port and close it: whether it connected, to which address, and how long it took.',
    inputSchema: {
      type: 'object',
      properties: { host: HOST, port: { type: 'integer', minimum: 1, maximum: 65535 }, timeoutMs: { type: 'integer', minimum: 100, maximum: 10_000, default: 3000 } },
      required: ['host', 'port'],
      additionalProperties: false,
    },
    outputSchema: obj({ host: { type: 'string' }, port: { type: 'integer' }, address: { type: 'string' }, open: { type: 'boolean' }, latencyMs: { type: 'number' }, error: { type: 'string' } }, ['host', 'port', 'open']),
    annotations: DIAG,
    access: 'network:diag',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const { host } = validateHost(args.host);
      const [target] = await addressesOf(host, resolve, ctx.signal);
      try {
        const { socket, ms } = await connectTcp(connect, { ...target!, port: args.port, hostname: host }, args.timeoutMs ?? 3000, ctx.signal);
        socket.destroy();
        return { structured: { host, port: args.port, address: target!.address, open: true, latencyMs: ms } };
      } catch (err) {
        if (err instanceof ToolError) throw err;
        return { structured: { host, port: args.port, address: target!.address, open: false, error: `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${(err as Error).message}` } };
      }
    },
  });

  registry.add<{ host: string; port?: number; servername?: string; timeoutMs?: number }>({
    name: 'check_ssl_certificate',
    title: 'Check a TLS certificate',
    description: 'Connect with TLS and report the certificate chain: subject, issuer, SANs, validity, days left, whether it is trusted and whether it matches the host name.',
    inputSchema: {
      type: 'object',
      properties: {
        host: HOST,
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 443 },
        servername: { ...HOST, description: 'SNI name and the name to match (default: host, unless it is an IP address).' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 15_000, default: 5000 },
      },
      required: ['host'],
      additionalProperties: false,
    },
    outputSchema: obj(
      {
        host: { type: 'string' },
        port: { type: 'integer' },
        address: { type: 'string' },
        trusted: { type: 'boolean' },
        trustError: { type: 'string' },
        hostnameMatch: { type: 'boolean' },
        hostnameError: { type: 'string' },
        protocol: { type: 'string' },
        subject: { type: 'string' },
        issuer: { type: 'string' },
        sans: { type: 'array', items: { type: 'string' } },
        validFrom: { type: 'string' },
        validTo: { type: 'string' },
        daysLeft: { type: 'number' },
        chain: { type: 'array', items: { type: 'object' } },
      },
      ['host', 'port', 'trusted', 'hostnameMatch'],
    ),
    annotations: DIAG,
    access: 'network:diag',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const { host } = validateHost(args.host);
      const name = args.servername ? validateHost(args.servername).host : host;
      const port = args.port ?? 443;
      const timeoutMs = args.timeoutMs ?? 5000;
      const [target] = await addressesOf(host, resolve, ctx.signal);
      let socket: Socket;
      try {
        socket = (await connectTcp(connect, { ...target!, port, hostname: host }, timeoutMs, ctx.signal)).socket;
      } catch (err) {
        throw new ToolError('HTTP_REQUEST_FAILED', `cannot connect to ${host}:${port} (${target!.address}): ${(err as Error).message}`, { cause: err });
      }
      const tls = tlsConnect({ socket, ...(isIP(name) ? {} : { servername: name }), rejectUnauthorized: false });
      try {
        await new Promise<void>((ok, fail) => {
          const timer = setTimeout(() => fail(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
          tls.once('secureConnect', () => {
            clearTimeout(timer);
            ok();
          });
          tls.once('error', (err) => {
            clearTimeout(timer);
            fail(err);
          });
        });
      } catch (err) {
        tls.destroy();
        throw new ToolError('HTTP_REQUEST_FAILED', `TLS handshake with ${host}:${port} failed: ${(err as Error).message}`, { cause: err });
      }
      const leaf = tls.getPeerCertificate(true) as DetailedPeerCertificate;
      const chain: Array<Record<string, unknown>> = [];
      const seen = new Set<string>();
      for (let c: DetailedPeerCertificate | undefined = leaf; c && c.fingerprint256 && !seen.has(c.fingerprint256) && chain.length < 10; c = c.issuerCertificate) {
        seen.add(c.fingerprint256);
        chain.push({ subject: nameOf(c.subject as unknown as Record<string, string>), issuer: nameOf(c.issuer as unknown as Record<string, string>), validTo: new Date(c.valid_to).toISOString(), fingerprint256: c.fingerprint256, selfSigned: c.issuerCertificate === c || c.fingerprint256 === c.issuerCertificate?.fingerprint256 });
      }
      const identity = checkServerIdentity(name, leaf);
      const validTo = new Date(leaf.valid_to);
      const result = {
        host,
        port,
        address: target!.address,
        trusted: tls.authorized,
        ...(tls.authorizationError ? { trustError: String(tls.authorizationError) } : {}),
        hostnameMatch: identity === undefined,
        ...(identity ? { hostnameError: identity.message } : {}),
        protocol: tls.getProtocol() ?? '',
        subject: nameOf(leaf.subject as unknown as Record<string, string>),
        issuer: nameOf(leaf.issuer as unknown as Record<string, string>),
        sans: (leaf.subjectaltname ?? '').split(',').map((x) => x.trim()).filter(Boolean),
        validFrom: new Date(leaf.valid_from).toISOString(),
        validTo: validTo.toISOString(),
        daysLeft: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
        chain,
      };
      tls.destroy();
      return { structured: result };
    },
  });

  registry.add<{ url: string; method?: 'GET' | 'HEAD' | 'OPTIONS'; expectedStatus?: number; timeoutMs?: number; maxBodyBytes?: number; followRedirects?: boolean; maxRedirects?: number; verifyTls?: boolean }>({
    name: 'http_request_test',
    title: 'Test an HTTP endpoint',
    description:
      'Request an http(s) URL and report status, whether it matches expectedStatus, headers, a body preview (body capped) and the timing breakdown (dns, connect, tls, first byte, total). SSRF-guarded: the name is resolved once and the connection pinned to the checked address; loopback, private, link-local, CGNAT/tailnet, unspecified and cloud metadata addresses are refused unless the server\'s httpAllowlist permits them, and every redirect is checked again.',
    inputSchema: {
      type: 'object',
      properties: {
        url: { type: 'string', minLength: 1, maxLength: 2048, description: 'An http:// or https:// URL without credentials.' },
        method: { type: 'string', enum: ['GET', 'HEAD', 'OPTIONS'], default: 'GET' },
        expectedStatus: { type: 'integer', minimum: 100, maximum: 599 },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 30_000, default: 10_000, description: 'For the whole request, redirects included.' },
        maxBodyBytes: { type: 'integer', minimum: 0, maximum: 1024 * 1024, default: 65_536, description: 'Read at most this much of the body.' },
        followRedirects: { type: 'boolean', default: true },
        maxRedirects: { type: 'integer', minimum: 0, maximum: 10, default: 5 },
        verifyTls: { type: 'boolean', default: true, description: 'Refuse certificates that are not trusted or do not match.' },
      },
      required: ['url'],
      additionalProperties: false,
    },
    outputSchema: obj(
      {
        url: { type: 'string' },
        finalUrl: { type: 'string' },
        status: { type: 'integer' },
        statusText: { type: 'string' },
        statusMatches: { type: 'boolean' },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        hops: { type: 'array', items: obj({ url: { type: 'string' }, address: { type: 'string' }, status: { type: 'integer' }, location: { type: 'string' } }) },
        timing: obj({ dnsMs: { type: 'number' }, connectMs: { type: 'number' }, tlsMs: { type: 'number' }, firstByteMs: { type: 'number' }, totalMs: { type: 'number' } }),
        bodyBytes: { type: 'integer' },
        bodyTruncated: { type: 'boolean' },
        bodyPreview: { type: 'string' },
      },
      ['url', 'finalUrl', 'status', 'timing'],
    ),
    annotations: DIAG,
    access: 'network:diag',
    risk: 'moderate',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const r = await guardedRequest(args.url, {
        method: args.method ?? 'GET',
        policy,
        resolve,
        connect,
        timeoutMs: args.timeoutMs ?? 10_000,
        maxBodyBytes: args.maxBodyBytes ?? 65_536,
        followRedirects: args.followRedirects ?? true,
        maxRedirects: args.maxRedirects ?? 5,
        verifyTls: args.verifyTls ?? true,
        signal: ctx.signal,
      });
      return {
        structured: {
          url: args.url,
          finalUrl: r.url,
          status: r.status,
          statusText: r.statusText,
          ...(args.expectedStatus !== undefined ? { statusMatches: r.status === args.expectedStatus } : {}),
          headers: r.headers,
          hops: r.hops,
          timing: r.timing,
          bodyBytes: r.bodyBytes,
          bodyTruncated: r.bodyTruncated,
          bodyPreview: r.bodyPreview,
        },
      };
    },
  });

  registry.add<{ state?: string; port?: number; protocol?: 'tcp' | 'tcp6' | 'udp' | 'udp6'; limit?: number }>({
    name: 'get_active_connections',
    title: 'Active connections',
    description: 'Open sockets on this host (a listing at most 2 s old): protocol, local and peer address and port, state, process. Filter by state (LISTEN, ESTABLISHED...), port (local or peer) and protocol.',
    inputSchema: {
      type: 'object',
      properties: {
        state: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z_0-9]+$', description: 'e.g. LISTEN, ESTABLISHED, TIME_WAIT (case-insensitive).' },
        port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Local or peer port.' },
        protocol: { type: 'string', enum: ['tcp', 'tcp6', 'udp', 'udp6'] },
        limit: { type: 'integer', minimum: 1, maximum: 2000, default: 200 },
      },
      additionalProperties: false,
    },
    outputSchema: obj({ total: { type: 'integer' }, matched: { type: 'integer' }, connections: { type: 'array', items: obj({ protocol: { type: 'string' }, localAddress: { type: 'string' }, localPort: { type: 'integer' }, peerAddress: { type: 'string' }, peerPort: { type: 'integer' }, state: { type: 'string' }, pid: { type: 'integer' }, process: { type: 'string' } }) } }, ['total', 'matched', 'connections']),
    annotations: READ,
    access: 'network:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      const all = await s.hostReader.connections();
      const state = args.state?.toUpperCase();
      const matched = all.filter(
        (c) =>
          (!state || c.state.toUpperCase() === state) &&
          (args.port === undefined || c.localPort === args.port || c.peerPort === args.port) &&
          (!args.protocol || c.protocol === args.protocol),
      );
      return { structured: { total: all.length, matched: matched.length, connections: matched.slice(0, args.limit ?? 200) } };
    },
  });
}
