// A PackageBackend in memory for the reconciler's unit tests: a repository (name → versions), an
// installed set, a log of calls, and switches for failures and lock waits.

import {
  PackageManagerFailedError,
  PackageNotAvailableError,
  type OperationOptions,
  type OperationOutcome,
  type PackageBackend,
  type PackageObservation,
  type UpgradablePackage,
} from '../../../../controllers/package/index.ts';
import { checkPackageName, compareDebianVersions } from '../../../../controllers/package/index.ts';

/** FakePackageBackend simulates apt on a host. The index is what `updateIndex` copies from `repository`. */
export class FakePackageBackend implements PackageBackend {
  readonly manager = 'fake-apt';
  /** repository: what the mirrors offer; visible only after updateIndex. */
  readonly repository = new Map<string, string[]>();
  /** index: what the host's lists know now. */
  readonly index = new Map<string, string[]>();
  readonly installed = new Map<string, string>();
  readonly calls: string[] = [];
  /** failNext: the next change throws this. */
  failNext: Error | undefined;
  /** waitMessages: the next change reports these as lock waits, then waits for `releaseLock`. */
  lockedBy: string | undefined;
  private lockReleased: (() => void) | undefined;
  /** ignoreChanges: changes "succeed" without changing anything (a package manager that lies). */
  ignoreChanges = false;

  offer(name: string, ...versions: string[]): this {
    this.repository.set(name, versions);
    return this;
  }

  releaseLock(): void {
    this.lockedBy = undefined;
    this.lockReleased?.();
  }

  async observe(name: string): Promise<PackageObservation> {
    checkPackageName(name);
    this.calls.push(`observe ${name}`);
    const versions = [...new Set([...(this.index.get(name) ?? []), ...(this.installed.has(name) ? [this.installed.get(name)!] : [])])].sort((a, b) => compareDebianVersions(b, a));
    const obs: PackageObservation = { name, state: this.installed.has(name) ? 'installed' : 'not-installed', availableVersions: versions };
    if (this.installed.has(name)) obs.installedVersion = this.installed.get(name)!;
    const candidate = this.index.get(name)?.slice().sort((a, b) => compareDebianVersions(b, a))[0] ?? this.installed.get(name);
    if (candidate) obs.candidateVersion = candidate;
    return obs;
  }

  async install(name: string, version: string | undefined, opts: OperationOptions = {}): Promise<OperationOutcome> {
    this.calls.push(`install ${name}${version ? `=${version}` : ''}`);
    await this.change(opts);
    const versions = this.index.get(name);
    if (!versions) throw new PackageNotAvailableError(`apt-get install ${name}: E: Unable to locate package ${name}`);
    const target = version ?? versions.slice().sort((a, b) => compareDebianVersions(b, a))[0]!;
    if (!versions.includes(target)) throw new PackageNotAvailableError(`apt-get install ${name}=${target}: E: Version '${target}' for '${name}' was not found`);
    if (!this.ignoreChanges) this.installed.set(name, target);
    return { output: `Setting up ${name} (${target}) ...` };
  }

  async remove(name: string, opts: OperationOptions = {}): Promise<OperationOutcome> {
    this.calls.push(`remove ${name}`);
    await this.change(opts);
    if (!this.ignoreChanges) this.installed.delete(name);
    return { output: `Removing ${name} ...` };
  }

  async updateIndex(): Promise<OperationOutcome> {
    this.calls.push('update');
    this.index.clear();
    for (const [k, v] of this.repository) this.index.set(k, [...v]);
    return { output: 'Reading package lists...' };
  }

  async listUpgradable(): Promise<UpgradablePackage[]> {
    this.calls.push('list-upgradable');
    const out: UpgradablePackage[] = [];
    for (const [name, installed] of this.installed) {
      const candidate = this.index.get(name)?.slice().sort((a, b) => compareDebianVersions(b, a))[0];
      if (candidate && compareDebianVersions(candidate, installed) > 0) out.push({ name, installed, candidate, origin: 'fake:stable' });
    }
    return out;
  }

  private async change(opts: OperationOptions): Promise<void> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    if (this.lockedBy) {
      opts.onWaiting?.(`Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (${this.lockedBy})`);
      await new Promise<void>((resolve) => (this.lockReleased = resolve));
    }
  }
}

/** aptFailure is the error a failing dpkg gives. */
export function aptFailure(message: string): Error {
  return new PackageManagerFailedError(message, 100);
}
