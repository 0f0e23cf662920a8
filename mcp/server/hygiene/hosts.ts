// Host validation for the network tools. A host reaches ping/traceroute's argument vector (through
// execFile, never a shell) and node's resolver, so only two shapes pass: an IP literal, or a
// hostname made of LDH labels. Everything else — shell syntax, options (`-oProxyCommand=x`),
// whitespace, legacy numeric forms such as `2130706433` or `127.1` that libc would read as an
// address — is refused before anything runs.

import { isIP } from 'node:net';
import { ToolError } from '../framework.ts';

/** ValidHost is a host that passed validation: the text to use and what it is. */
export interface ValidHost {
  host: string;
  kind: 'ipv4' | 'ipv6' | 'hostname';
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** hostKind says what `value` is, or undefined when it is neither an IP literal nor a hostname. */
export function hostKind(value: string): ValidHost['kind'] | undefined {
  const ip = isIP(value);
  if (ip === 4) return 'ipv4';
  if (ip === 6) return value.includes('%') ? undefined : 'ipv6';
  if (value.length === 0 || value.length > 253) return undefined;
  const labels = (value.endsWith('.') ? value.slice(0, -1) : value).split('.');
  if (!labels.every((l) => LABEL.test(l))) return undefined;
  // An all-numeric last label is no TLD; inet_aton would read `127.1` or `2130706433` as an address.
  if (/^[0-9]+$/.test(labels.at(-1)!)) return undefined;
  if (labels.some((l) => l.startsWith('-') || l.endsWith('-'))) return undefined;
  return 'hostname';
}

/** validateHost returns the host (IPv6 brackets removed) or throws HOST_INVALID saying why. */
export function validateHost(input: string): ValidHost {
  const shown = JSON.stringify(input.length > 80 ? `${input.slice(0, 80)}…` : input);
  if (input.startsWith('-')) throw new ToolError('HOST_INVALID', `refused host ${shown}: a host never starts with "-" (it would be read as an option)`);
  if (/[\s\0]/.test(input)) throw new ToolError('HOST_INVALID', `refused host ${shown}: whitespace, newlines and NUL are not allowed in a host`);
  const bare = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const kind = hostKind(bare);
  if (!kind) {
    const why = /[;$`|&<>()'"\\{}*?!]/.test(bare)
      ? 'shell syntax is not allowed'
      : bare.length > 253 || bare.split('.').some((l) => l.length > 63)
        ? 'a hostname is at most 253 characters with labels of at most 63'
        : 'it is neither an IP address nor a hostname (letters, digits, "-", "_" in dot-separated labels; not all-numeric)';
    throw new ToolError('HOST_INVALID', `refused host ${shown}: ${why}`);
  }
  return { host: bare.toLowerCase(), kind };
}
