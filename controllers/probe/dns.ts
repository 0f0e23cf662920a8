// The dns probe. Without `server`, A and AAAA go through getaddrinfo (the system resolver: /etc/hosts,
// then DNS, as every other program on the host resolves), and other types ask the servers in
// /etc/resolv.conf; with `server`, the query goes to that server only. Names under the reserved
// `.invalid` TLD fail at once without a query, as RFC 6761 §6.4 asks of resolver libraries, so a
// typo-guard or test name never leaves the machine.

import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { abortable, describeError, PROBE_DEFAULTS, type DnsProbeSpec, type DnsRecordType, type ProbeContext, type ProbeOutcome } from './spec.ts';

const DNS_ERRORS: Record<string, string> = {
  ENOTFOUND: 'does not resolve (NXDOMAIN)',
  ENODATA: 'has no records of this type',
  ESERVFAIL: 'the server failed (SERVFAIL)',
  EREFUSED: 'the server refused the query',
  ECONNREFUSED: 'connection refused',
  ETIMEOUT: 'timed out',
  EBADRESP: 'the server sent a malformed answer',
};

/** probeDns resolves the name once and checks that an answer contains `expect`, if set. */
export async function probeDns(spec: DnsProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  const type = spec.type ?? PROBE_DEFAULTS.dnsType;
  const what = `${type} ${spec.name}${spec.server ? ` @${spec.server}:${spec.port ?? PROBE_DEFAULTS.dnsPort}` : ''}`;
  if (/(^|\.)invalid\.?$/i.test(spec.name)) {
    return { success: false, message: `${what}: does not resolve (NXDOMAIN): .invalid names never resolve (RFC 6761), so no query was sent` };
  }
  let answers: string[];
  try {
    answers = await resolve(spec, type, ctx);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const text = typeof code === 'string' && DNS_ERRORS[code] ? DNS_ERRORS[code] : describeError(err, ctx.signal, ctx.timeoutMs);
    return { success: false, message: `${what}: ${text}` };
  }
  if (answers.length === 0) return { success: false, message: `${what}: no answer` };
  const shown = answers.slice(0, 8).join(', ') + (answers.length > 8 ? `, … (${answers.length} answers)` : '');
  if (spec.expect !== undefined && !answers.some((a) => a.includes(spec.expect!))) {
    return { success: false, message: `${what}: no answer contains ${JSON.stringify(spec.expect)} (got ${shown})` };
  }
  return { success: true, message: `${what}: ${shown}` };
}

async function resolve(spec: DnsProbeSpec, type: DnsRecordType, ctx: ProbeContext): Promise<string[]> {
  if (!spec.server && (type === 'A' || type === 'AAAA')) {
    const found = await abortable(dns.lookup(spec.name, { family: type === 'A' ? 4 : 6, all: true }), ctx.signal);
    return found.map((a) => a.address);
  }
  const resolver = new dns.Resolver({ timeout: ctx.timeoutMs, tries: 1 });
  if (spec.server) {
    const port = spec.port ?? PROBE_DEFAULTS.dnsPort;
    resolver.setServers([isIP(spec.server) === 6 ? `[${spec.server}]:${port}` : `${spec.server}:${port}`]);
  }
  const onAbort = () => resolver.cancel();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await abortable(answersOf(resolver, spec.name, type), ctx.signal);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

async function answersOf(resolver: dns.Resolver, name: string, type: DnsRecordType): Promise<string[]> {
  switch (type) {
    case 'A':
      return resolver.resolve4(name);
    case 'AAAA':
      return resolver.resolve6(name);
    case 'MX':
      return (await resolver.resolveMx(name)).map((r) => `${r.priority} ${r.exchange}`);
    case 'TXT':
      return (await resolver.resolveTxt(name)).map((parts) => parts.join(''));
    case 'CNAME':
      return resolver.resolveCname(name);
    case 'NS':
      return resolver.resolveNs(name);
    case 'SRV':
      return (await resolver.resolveSrv(name)).map((r) => `${r.priority} ${r.weight} ${r.port} ${r.name}`);
    case 'PTR':
      return resolver.resolvePtr(name);
  }
}
