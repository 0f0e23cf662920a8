// Which addresses http_request_test may reach. Everything that is not ordinary public unicast is
// refused unless the operator's allowlist names it: loopback, private, link-local, CGNAT and the
// Tailscale ranges, unspecified, multicast, reserved and documentation ranges, and the cloud
// metadata endpoints. IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64
// 64:ff9b::/96, 6to4 2002::/16) are judged by that IPv4 address, so `[::ffff:127.0.0.1]` is loopback.

import { BlockList, isIP } from 'node:net';
import { hostKind } from './hosts.ts';

interface Range {
  cidr: string;
  what: string;
}

// Order matters: the first match names the reason, so specific ranges come before their supersets.
const V4: Range[] = [
  { cidr: '169.254.169.254/32', what: 'a cloud metadata address' },
  { cidr: '169.254.170.2/32', what: 'a cloud metadata address (ECS task metadata)' },
  { cidr: '100.100.100.200/32', what: 'a cloud metadata address' },
  { cidr: '0.0.0.0/8', what: 'an unspecified ("this network") address' },
  { cidr: '127.0.0.0/8', what: 'a loopback address' },
  { cidr: '10.0.0.0/8', what: 'a private address (RFC 1918)' },
  { cidr: '172.16.0.0/12', what: 'a private address (RFC 1918)' },
  { cidr: '192.168.0.0/16', what: 'a private address (RFC 1918)' },
  { cidr: '100.64.0.0/10', what: 'a CGNAT/tailnet address (100.64.0.0/10)' },
  { cidr: '169.254.0.0/16', what: 'a link-local address' },
  { cidr: '192.0.0.0/24', what: 'a reserved address (IETF protocol assignments)' },
  { cidr: '192.0.2.0/24', what: 'a documentation address' },
  { cidr: '198.51.100.0/24', what: 'a documentation address' },
  { cidr: '203.0.113.0/24', what: 'a documentation address' },
  { cidr: '198.18.0.0/15', what: 'a benchmarking address' },
  { cidr: '224.0.0.0/4', what: 'a multicast address' },
  { cidr: '240.0.0.0/4', what: 'a reserved or broadcast address' },
];
const V6: Range[] = [
  { cidr: 'fd00:ec2::254/128', what: 'a cloud metadata address' },
  { cidr: '::/128', what: 'an unspecified address' },
  { cidr: '::1/128', what: 'a loopback address' },
  { cidr: 'fd7a:115c:a1e0::/48', what: 'a tailnet address (fd7a:115c:a1e0::/48)' },
  { cidr: 'fc00::/7', what: 'a private (unique local) address' },
  { cidr: 'fec0::/10', what: 'a private (site-local) address' },
  { cidr: 'fe80::/10', what: 'a link-local address' },
  { cidr: 'ff00::/8', what: 'a multicast address' },
  { cidr: '2001:db8::/32', what: 'a documentation address' },
  { cidr: '100::/64', what: 'a discard-only address' },
  { cidr: '2001::/32', what: 'a Teredo tunnel address' },
  { cidr: '::/96', what: 'a deprecated IPv4-compatible address' },
];

const compiled = [...V4.map((r) => ({ ...r, family: 'ipv4' as const })), ...V6.map((r) => ({ ...r, family: 'ipv6' as const }))].map((r) => {
  const [net, bits] = r.cidr.split('/') as [string, string];
  const list = new BlockList();
  list.addSubnet(net, Number(bits), r.family);
  return { ...r, list };
});

/** ipv6Bytes expands an IPv6 literal (with `::` and a trailing dotted quad) into 16 bytes. */
function ipv6Bytes(address: string): number[] {
  let text = address.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail.push(...dotted[1]!.split('.').map(Number));
    text = text.slice(0, -dotted[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string) => (s ? s.split(':').filter((g) => g !== '') : []);
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  const bytes = all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** unmapIPv4 returns the IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), or undefined. */
export function unmapIPv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const b = ipv6Bytes(address);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12, 16).join('.');
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return b.slice(12, 16).join('.');
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  return undefined;
}

/** blockedReason says why an address is not ordinary public unicast (for example "a loopback address"), or undefined when it is. */
export function blockedReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const embedded = family === 6 ? unmapIPv4(address) : undefined;
  if (embedded) {
    const inner = blockedReason(embedded);
    return inner ? `${inner} (${embedded}, embedded in ${address})` : undefined;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const r of compiled) if (r.family === type && r.list.check(address, type)) return `${r.what} (${r.cidr})`;
  return undefined;
}

/**
 * AddressPolicy is the allowlist of http_request_test: CIDRs or single addresses, and host names.
 * A listed host name may resolve to blocked addresses (an internal service); a listed CIDR admits
 * its addresses whatever name led there.
 */
export class AddressPolicy {
  private readonly cidrs = new BlockList();
  private readonly hosts = new Set<string>();
  /** entries is the allowlist as configured, for messages. */
  readonly entries: readonly string[];

  constructor(entries: readonly string[] = []) {
    this.entries = [...entries];
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      const [net, bits] = entry.split('/') as [string, string | undefined];
      const bare = net.replace(/^\[|\]$/g, '');
      const family = isIP(bare);
      if (family) {
        const max = family === 4 ? 32 : 128;
        const prefix = bits === undefined ? max : Number(bits);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`httpAllowlist: ${raw} has an invalid prefix length`);
        this.cidrs.addSubnet(bare, prefix, family === 4 ? 'ipv4' : 'ipv6');
      } else if (bits === undefined && hostKind(entry) === 'hostname') {
        this.hosts.add(entry.replace(/\.$/, ''));
      } else {
        throw new Error(`httpAllowlist: ${raw} is neither a CIDR, an IP address nor a host name`);
      }
    }
  }

  /** refusal says why `address` (reached through `hostname`) may not be contacted, or undefined when it may. */
  refusal(hostname: string, address: string): string | undefined {
    const reason = blockedReason(address);
    if (!reason) return undefined;
    if (this.hosts.has(hostname.toLowerCase().replace(/\.$/, ''))) return undefined;
    const family = isIP(address);
    if (family && this.cidrs.check(address, family === 4 ? 'ipv4' : 'ipv6')) return undefined;
    const embedded = unmapIPv4(address);
    if (embedded && this.cidrs.check(embedded, 'ipv4')) return undefined;
    return reason;
  }
}
