// The apt/dpkg PackageBackend: observes with dpkg-query and apt-cache, acts with apt-get, always
// through execFile with argument arrays (never a shell) and after checking names against Debian's
// rules. apt-get in Debian 12 still reads an unknown name as a regular expression ("a.b" matches
// every package with "a", any character, "b") and a trailing "-" or "+" as "remove"/"install", so a
// name reaches apt-get only when apt knows that exact package; installs run with --no-remove, and a
// removal that would take other packages with it is refused after a simulation.

import { execFile, type ChildProcess } from 'node:child_process';
import {
  PackageManagerFailedError,
  PackageManagerLockedError,
  PackageManagerMissingError,
  PackageNotAvailableError,
  type InstallState,
  type OperationOptions,
  type OperationOutcome,
  type PackageBackend,
  type PackageObservation,
  type UpgradablePackage,
} from './backend.ts';
import { checkPackageName, checkPackageVersion, compareDebianVersions } from './debian.ts';

/** DEFAULT_LOCK_TIMEOUT_SEC is how long apt-get waits for the dpkg lock before giving up. */
export const DEFAULT_LOCK_TIMEOUT_SEC = 120;

/** AptBackendOptions configure createAptBackend. Production leaves them all unset. */
export interface AptBackendOptions {
  /**
   * aptOptions are passed to every apt-get and apt-cache call before the command, as given, e.g.
   * `['-o', 'Dir::Etc::SourceList=/tmp/x/sources.list', '-o', 'Dir::State::Lists=/tmp/x/lists']`
   * so tests consult only their own repository and leave the machine's apt state alone. Whoever
   * redirects `Dir::State::status` must redirect `Dir::State::extended_states` too: apt rewrites
   * that file from the packages it sees and would drop the host's auto-installed marks.
   */
  aptOptions?: string[];
  /** dpkgAdminDir: dpkg's database for dpkg-query (default dpkg's own, /var/lib/dpkg); also names the lock that serializes operations. */
  dpkgAdminDir?: string;
  /** lockTimeoutSec: how long apt-get waits for the dpkg lock (`DPkg::Lock::Timeout`; default 120). */
  lockTimeoutSec?: number;
  /** commands: the programs to run (default `apt-get`, `apt-cache`, `dpkg-query` from $PATH). */
  commands?: { aptGet?: string; aptCache?: string; dpkgQuery?: string };
}

/** createAptBackend returns the PackageBackend for Debian-like hosts. */
export function createAptBackend(opts: AptBackendOptions = {}): PackageBackend {
  return new AptBackend(opts);
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const MAX_OUTPUT = 4 * 1024 * 1024;
const WAITING_PREFIX = 'Waiting for cache lock: ';

// One operation at a time per dpkg database, shared by every backend in this process: apt's own lock
// would also serialize them, but queuing here keeps a second reconcile from burning its lock timeout
// behind the first.
const hostQueues = new Map<string, Promise<unknown>>();

class AptBackend implements PackageBackend {
  readonly manager = 'apt';
  private readonly aptOptions: readonly string[];
  private readonly adminDir: string | undefined;
  private readonly lockTimeoutSec: number;
  private readonly aptGet: string;
  private readonly aptCache: string;
  private readonly dpkgQuery: string;

  constructor(opts: AptBackendOptions) {
    this.aptOptions = [...(opts.aptOptions ?? [])];
    for (const o of this.aptOptions) if (o.includes('\0')) throw new TypeError('aptOptions must not contain NUL bytes');
    this.adminDir = opts.dpkgAdminDir;
    const timeout = opts.lockTimeoutSec ?? DEFAULT_LOCK_TIMEOUT_SEC;
    if (!Number.isInteger(timeout) || timeout < 0) throw new RangeError('lockTimeoutSec must be a non-negative integer');
    this.lockTimeoutSec = timeout;
    this.aptGet = opts.commands?.aptGet ?? 'apt-get';
    this.aptCache = opts.commands?.aptCache ?? 'apt-cache';
    this.dpkgQuery = opts.commands?.dpkgQuery ?? 'dpkg-query';
  }

  async observe(name: string, signal?: AbortSignal): Promise<PackageObservation> {
    checkPackageName(name);
    const [installed, policy] = await Promise.all([this.queryDpkg(name, signal), this.policy(name, signal)]);
    const obs: PackageObservation = { name, state: installed.state, availableVersions: policy.versions };
    if (installed.version !== undefined) obs.installedVersion = installed.version;
    if (policy.candidate !== undefined) obs.candidateVersion = policy.candidate;
    return obs;
  }

  async install(name: string, version: string | undefined, opts: OperationOptions = {}): Promise<OperationOutcome> {
    checkPackageName(name);
    if (version !== undefined) checkPackageVersion(version);
    return this.exclusive(opts, async () => {
      const policy = await this.policy(name, opts.signal);
      if (!policy.known) {
        throw new PackageNotAvailableError(
          `apt knows no package named ${name} (apt-cache policy ${name} found nothing); apt-get update, or add the repository that provides it`,
        );
      }
      // apt-get reads a trailing "+" as an install modifier and would install "1.0" for "1.0+":
      // such a version goes to apt-get only when apt lists it exactly.
      if (version !== undefined && version.endsWith('+') && !policy.versions.includes(version)) {
        throw new PackageNotAvailableError(`apt offers no version ${version} of ${name} (it offers: ${policy.versions.join(', ') || 'none'})`);
      }
      const target = version === undefined ? name : `${name}=${version}`;
      // --no-remove: an install must never remove another package to make room (conflicts fail instead).
      const args = [...this.aptArgs(), 'install', '-y', '--no-remove', '--allow-downgrades', '--', target];
      return this.change(this.aptGet, args, `apt-get install ${target}`, opts);
    });
  }

  async remove(name: string, opts: OperationOptions = {}): Promise<OperationOutcome> {
    checkPackageName(name);
    return this.exclusive(opts, async () => {
      const installed = await this.queryDpkg(name, opts.signal);
      if (installed.state !== 'installed' && installed.state !== 'broken') return { output: `${name} is not installed` };
      const policy = await this.policy(name, opts.signal);
      if (!policy.known) throw new PackageManagerFailedError(`dpkg lists ${name} but apt does not know it; refusing to pass an unknown name to apt-get`, undefined);
      const plan = await this.run(this.aptGet, [...this.aptArgs(), '-o', 'Debug::NoLocking=1', '-s', 'remove', '--', name], opts.signal);
      if (plan.code !== 0) throw this.failure(`apt-get remove ${name} (simulated)`, plan);
      const others = [...plan.stdout.matchAll(/^Remv (\S+)/gm)].map((m) => m[1]!.replace(/:[a-z0-9-]+$/, '')).filter((n) => n !== name);
      if (others.length > 0) {
        throw new PackageManagerFailedError(
          `removing ${name} would also remove ${others.join(', ')}; refusing to remove packages nobody declared absent (declare them absent too, or remove them by hand)`,
          undefined,
        );
      }
      return this.change(this.aptGet, [...this.aptArgs(), 'remove', '-y', '--', name], `apt-get remove ${name}`, opts);
    });
  }

  async updateIndex(opts: OperationOptions = {}): Promise<OperationOutcome> {
    return this.exclusive(opts, async () => {
      const result = await this.run(this.aptGet, [...this.aptArgs(), 'update'], opts.signal, (line) => this.noticeWaiting(line, opts));
      if (result.code !== 0 || /^E: /m.test(result.stderr)) throw this.failure('apt-get update', result);
      return { output: tail(result.stdout) };
    });
  }

  async listUpgradable(signal?: AbortSignal): Promise<UpgradablePackage[]> {
    // A simulation without locking reads the index and dpkg's status only; it must never wait behind
    // a running install, because the upgradable list answers read tools.
    const result = await this.run(this.aptGet, [...this.aptArgs(), '-o', 'Debug::NoLocking=1', '-s', 'dist-upgrade'], signal);
    if (result.code !== 0) throw this.failure('apt-get -s dist-upgrade', result);
    return parseUpgradable(result.stdout);
  }

  /** aptArgs are the options of every apt-get call: quiet, non-interactive, no recommends, a bounded lock wait. */
  private aptArgs(): string[] {
    return [
      '-q',
      '-o', `DPkg::Lock::Timeout=${this.lockTimeoutSec}`,
      '-o', 'APT::Install-Recommends=false',
      '-o', 'APT::Install-Suggests=false',
      '-o', 'Dpkg::Options::=--force-confdef',
      '-o', 'Dpkg::Options::=--force-confold',
      '-o', 'Dpkg::Use-Pty=0',
      ...this.aptOptions,
    ];
  }

  private async queryDpkg(name: string, signal?: AbortSignal): Promise<{ state: InstallState; version?: string }> {
    const admin = this.adminDir ? [`--admindir=${this.adminDir}`] : [];
    const format = '${Package}\t${db:Status-Status}\t${Version}\n';
    const result = await this.run(this.dpkgQuery, [...admin, '-W', '-f', format, '--', name], signal);
    if (result.code === 1 && /no packages found matching/.test(result.stderr)) return { state: 'not-installed' };
    if (result.code !== 0) throw this.failure(`dpkg-query -W ${name}`, result);
    const rows = result.stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter((cols) => cols.length === 3 && cols[0]!.replace(/:[a-z0-9-]+$/, '') === name)
      .map(([, status, version]) => ({ state: installState(status!), version: version || undefined }));
    const rank: Record<InstallState, number> = { installed: 0, broken: 1, 'config-files': 2, 'not-installed': 3 };
    rows.sort((a, b) => rank[a.state] - rank[b.state]);
    const best = rows[0];
    if (!best || best.state === 'not-installed' || best.state === 'config-files') return { state: best?.state ?? 'not-installed' };
    return best.version ? { state: best.state, version: best.version } : { state: best.state };
  }

  private async policy(name: string, signal?: AbortSignal): Promise<{ known: boolean; candidate?: string; versions: string[] }> {
    const result = await this.run(this.aptCache, [...this.aptOptions, '-q', 'policy', '--', name], signal);
    if (result.code !== 0) throw this.failure(`apt-cache policy ${name}`, result);
    return parsePolicy(result.stdout, name);
  }

  /** change runs one mutating apt-get call and maps its failure to the right error. */
  private async change(file: string, args: string[], what: string, opts: OperationOptions): Promise<OperationOutcome> {
    let waiting = false;
    const result = await this.run(file, args, opts.signal, (line) => {
      waiting = this.noticeWaiting(line, opts);
    }, () => waiting);
    if (result.code !== 0) throw this.failure(what, result);
    return { output: tail(result.stdout) };
  }

  private lastWaiting = '';

  /** noticeWaiting reports apt's lock-wait lines (once per distinct holder) and tells whether apt is still waiting. */
  private noticeWaiting(line: string, opts: OperationOptions): boolean {
    if (!line.startsWith(WAITING_PREFIX)) return false;
    const message = line.slice(WAITING_PREFIX.length).trim();
    if (message !== this.lastWaiting) {
      this.lastWaiting = message;
      opts.onWaiting?.(`${message} (apt-get waits up to ${this.lockTimeoutSec} s)`);
    }
    return true;
  }

  private async exclusive<T>(opts: OperationOptions, fn: () => Promise<T>): Promise<T> {
    const key = this.adminDir ?? '/var/lib/dpkg';
    const before = hostQueues.get(key);
    if (before) opts.onWaiting?.('another package operation of this agent is running on this host');
    const mine = (before ?? Promise.resolve()).catch(() => undefined).then(() => {
      opts.signal?.throwIfAborted();
      this.lastWaiting = '';
      return fn();
    });
    const settled = mine.catch(() => undefined);
    hostQueues.set(key, settled);
    try {
      return await mine;
    } finally {
      if (hostQueues.get(key) === settled) hostQueues.delete(key);
    }
  }

  /**
   * run executes a program with an argument array. `killable` decides whether an abort may stop it:
   * mutating apt-get calls are only stopped while they still wait for the lock, never while dpkg runs.
   */
  private run(
    file: string,
    args: string[],
    signal?: AbortSignal,
    onLine?: (line: string) => void,
    killable: () => boolean = () => true,
  ): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const child: ChildProcess = execFile(file, args, { env: aptEnv(), maxBuffer: MAX_OUTPUT, encoding: 'utf8' }, (error, stdout, stderr) => {
        signal?.removeEventListener('abort', onAbort);
        const err = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (err && err.code === 'ENOENT') {
          reject(new PackageManagerMissingError(`${file} is not installed on this host (apt/dpkg are needed to manage packages)`, { cause: err }));
          return;
        }
        if (err && typeof err.code !== 'number' && err.code !== undefined && err.code !== null) {
          reject(new PackageManagerFailedError(`running ${file} failed: ${err.message}`, undefined, { cause: err }));
          return;
        }
        if (signal?.aborted && child.killed) {
          reject(signal.reason);
          return;
        }
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      });
      const onAbort = () => {
        if (killable()) child.kill('SIGTERM');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (onLine && child.stdout) {
        let partial = '';
        child.stdout.on('data', (chunk: string | Buffer) => {
          partial += chunk.toString();
          let nl: number;
          while ((nl = partial.indexOf('\n')) >= 0) {
            onLine(partial.slice(0, nl));
            partial = partial.slice(nl + 1);
          }
        });
      }
    });
  }

  private failure(what: string, result: RunResult): Error {
    // apt prints a "Waiting for cache lock" line every second it waits; they say who held the lock,
    // but must not make an unrelated failure look like a lock timeout.
    const lines = `${result.stdout}\n${result.stderr}`.split('\n').map((l) => l.trim());
    const lastWait = lines.filter((l) => l.startsWith(WAITING_PREFIX)).at(-1)?.slice(WAITING_PREFIX.length);
    const rest = lines.filter((l) => l !== '' && !l.startsWith(WAITING_PREFIX));
    const errors = rest.filter((l) => /^(E|dpkg|dpkg-query): /.test(l));
    const detail = errors.length > 0 ? errors.join('; ') : rest.slice(-3).join('; ') || `exit code ${result.code ?? 'none'}`;
    const text = rest.join('\n');
    if (/Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock (the administration )?directory/i.test(text)) {
      const holder = lastWait ? ` (${lastWait.replace(/\.\.\.$/, '')})` : '';
      return new PackageManagerLockedError(`${what}: gave up waiting ${this.lockTimeoutSec} s for the dpkg lock held by another process: ${detail}${holder}`);
    }
    if (/Unable to locate package|Version '[^']*' for '[^']*' was not found|has no installation candidate|is not available, but is referred to/.test(text)) {
      return new PackageNotAvailableError(`${what}: ${detail}`);
    }
    return new PackageManagerFailedError(`${what} failed (exit ${result.code ?? 'signal'}): ${detail}`, result.code ?? undefined);
  }
}

function aptEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    // apt's messages are parsed: they must not be translated.
    LC_ALL: 'C',
    LANG: 'C',
    DEBIAN_FRONTEND: 'noninteractive',
    DEBCONF_NONINTERACTIVE_SEEN: 'true',
    APT_LISTCHANGES_FRONTEND: 'none',
    NEEDRESTART_MODE: 'a',
  };
}

function installState(status: string): InstallState {
  switch (status) {
    case 'installed':
    case 'triggers-pending':
    case 'triggers-awaited':
      return 'installed';
    case 'config-files':
      return 'config-files';
    case 'not-installed':
    case '':
      return 'not-installed';
    default:
      return 'broken';
  }
}

/** parsePolicy reads `apt-cache policy <name>` output; `known` is true only for an exact match (never a regex expansion). */
export function parsePolicy(stdout: string, name: string): { known: boolean; candidate?: string; versions: string[] } {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l === `${name}:` || new RegExp(`^${escapeRegExp(name)}:[a-z0-9-]+:$`).test(l));
  if (start < 0) return { known: false, versions: [] };
  let candidate: string | undefined;
  const versions: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line !== '' && !line.startsWith(' ')) break;
    const c = /^ {2}Candidate: (\S+)$/.exec(line);
    if (c && c[1] !== '(none)') candidate = c[1];
    const v = /^ (?:\*\*\*| {3}) (\S+) -?\d+$/.exec(line);
    if (v && !versions.includes(v[1]!)) versions.push(v[1]!);
  }
  versions.sort((a, b) => compareDebianVersions(b, a));
  return candidate !== undefined ? { known: true, candidate, versions } : { known: true, versions };
}

/** parseUpgradable reads the `Inst name [installed] (candidate origin [arch])` lines of an `apt-get -s` run. */
export function parseUpgradable(stdout: string): UpgradablePackage[] {
  const out: UpgradablePackage[] = [];
  for (const m of stdout.matchAll(/^Inst (\S+) \[([^\]]+)\] \((\S+)(?: (.*?))?(?: \[([^\]]+)\])?\)/gm)) {
    const pkg: UpgradablePackage = { name: m[1]!, installed: m[2]!, candidate: m[3]!, origin: m[4] ?? '' };
    if (m[5]) pkg.architecture = m[5];
    out.push(pkg);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function tail(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
