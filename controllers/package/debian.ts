// Debian's rules for package names and versions (Debian Policy §5.6.1, §5.6.12). The schema refuses
// bad values already; the backend checks again before any value reaches apt's command line, because
// a name starting with "-" would be read as an option and the schema is not the only way in.

import { SystemManagerError } from '../../resources/errors.ts';

/** PACKAGE_NAME_PATTERN is Debian's package name rule, the same as schemas/package.schema.json. */
export const PACKAGE_NAME_PATTERN = /^[a-z0-9][a-z0-9+.-]+$/;

/** PACKAGE_VERSION_PATTERN is a Debian version `[epoch:]upstream[-revision]` without spaces or shell characters, as in the schema. */
export const PACKAGE_VERSION_PATTERN = /^(?:[0-9]+:)?[A-Za-z0-9][A-Za-z0-9.+~-]*$/;

const MAX_LENGTH = 128;

/** PackageInvalidError: a package name or version breaks Debian's rules; nothing was run. */
export class PackageInvalidError extends SystemManagerError {
  constructor(what: 'name' | 'version', value: string, rule: string) {
    super('PACKAGE_INVALID', `invalid package ${what} ${JSON.stringify(value.slice(0, MAX_LENGTH + 1))}: ${rule}`);
  }
}

/** checkPackageName throws PackageInvalidError unless `name` is a valid Debian package name. */
export function checkPackageName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new PackageInvalidError('name', String(name), 'must be a string');
  if (name.length > MAX_LENGTH) throw new PackageInvalidError('name', name, `longer than ${MAX_LENGTH} characters`);
  if (!PACKAGE_NAME_PATTERN.test(name)) {
    throw new PackageInvalidError('name', name, 'use lowercase letters, digits, "+", "-" and "."; at least 2 characters, starting with a letter or digit');
  }
}

/** checkPackageVersion throws PackageInvalidError unless `version` is a valid Debian version string. */
export function checkPackageVersion(version: unknown): asserts version is string {
  if (typeof version !== 'string') throw new PackageInvalidError('version', String(version), 'must be a string');
  if (version.length > MAX_LENGTH) throw new PackageInvalidError('version', version, `longer than ${MAX_LENGTH} characters`);
  if (!PACKAGE_VERSION_PATTERN.test(version)) {
    throw new PackageInvalidError('version', version, 'expected [epoch:]upstream[-revision] with letters, digits and ".+~-" only, starting with a letter or digit');
  }
  // An empty revision is not a Debian version, and apt-get reads "pkg=1.0-" as "remove pkg".
  if (version.endsWith('-')) throw new PackageInvalidError('version', version, 'must not end with "-" (the revision after the last "-" cannot be empty)');
}

/**
 * compareDebianVersions orders two Debian versions the way dpkg does (`dpkg --compare-versions`):
 * negative when a < b, 0 when equal, positive when a > b. Epochs compare numerically; upstream and
 * revision compare as alternating non-digit and digit runs, where "~" sorts before everything, even
 * the end of the string (so 1.0~rc1 < 1.0), and letters sort before other characters.
 */
export function compareDebianVersions(a: string, b: string): number {
  const pa = splitVersion(a);
  const pb = splitVersion(b);
  if (pa.epoch !== pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  return compareFragment(pa.upstream, pb.upstream) || compareFragment(pa.revision, pb.revision);
}

function splitVersion(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

// A direct port of dpkg's verrevcmp (lib/dpkg/version.c).
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(i < a.length ? a[i] : undefined);
      const bc = order(j < b.length ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
