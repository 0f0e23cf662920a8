// The contract between the package controller and a host's package manager. apt/dpkg implements it
// (apt.ts); dnf or apk can follow without touching the reconciler. Unit tests put a fake behind it.

import { SystemManagerError } from '../../resources/errors.ts';

/** InstallState is dpkg's view of one package, reduced to what the controller acts on. */
export type InstallState = 'installed' | 'not-installed' | 'config-files' | 'broken';

/** PackageObservation is what the host knows about one package right now. */
export interface PackageObservation {
  name: string;
  /** state: installed; never installed or removed without trace; removed with its conffiles kept; or half installed/configured (broken). */
  state: InstallState;
  /** installedVersion: set when `state` is installed or broken. */
  installedVersion?: string;
  /** candidateVersion: the version the package manager would install now; undefined when none is known. */
  candidateVersion?: string;
  /** availableVersions: every version the configured repositories (and the installed copy) offer, newest first. */
  availableVersions: string[];
}

/** UpgradablePackage is one installed package for which a newer candidate exists. */
export interface UpgradablePackage {
  name: string;
  installed: string;
  candidate: string;
  /** origin: where the candidate comes from as apt names it (for example "Debian:12.5/stable, Debian-Security:12/stable-security"). */
  origin: string;
  architecture?: string;
}

/** OperationOptions go with every change a backend makes. */
export interface OperationOptions {
  /** signal: aborts a wait for the lock; a running dpkg is never killed (that would leave the host half-configured). */
  signal?: AbortSignal;
  /** onWaiting is called, once per distinct message, while the operation waits for the package manager's lock. */
  onWaiting?(message: string): void;
}

/** OperationOutcome is what a finished change reports. */
export interface OperationOutcome {
  /** output: the package manager's own last lines, for events and logs. */
  output: string;
}

/** PackageBackend is one host's package manager. Implementations serialize their changes: one operation at a time per host. */
export interface PackageBackend {
  /** manager names the tool, for messages ("apt"). */
  readonly manager: string;
  /** observe reads the installed state and the candidates of one package; it never changes the host. */
  observe(name: string, signal?: AbortSignal): Promise<PackageObservation>;
  /** install installs `name` (at `version` when given, downgrading if needed) or upgrades it to the candidate. */
  install(name: string, version: string | undefined, opts?: OperationOptions): Promise<OperationOutcome>;
  /** remove removes `name`, keeping its configuration files (not a purge). */
  remove(name: string, opts?: OperationOptions): Promise<OperationOutcome>;
  /** updateIndex refreshes the package index from the repositories (`apt-get update`). */
  updateIndex(opts?: OperationOptions): Promise<OperationOutcome>;
  /** listUpgradable lists installed packages with a newer candidate, from the current index; it takes no lock. */
  listUpgradable(signal?: AbortSignal): Promise<UpgradablePackage[]>;
}

/** PackageNotAvailableError: the repositories do not offer the package (or the pinned version); the message is apt's. */
export class PackageNotAvailableError extends SystemManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PACKAGE_NOT_AVAILABLE', message, options);
  }
}

/** PackageManagerLockedError: another process held the package manager's lock for longer than the lock timeout. */
export class PackageManagerLockedError extends SystemManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('APT_LOCKED', message, options);
  }
}

/** PackageManagerFailedError: the package manager ran and failed; the message carries its own error lines. */
export class PackageManagerFailedError extends SystemManagerError {
  readonly exitCode: number | undefined;
  constructor(message: string, exitCode: number | undefined, options?: { cause?: unknown }) {
    super('APT_FAILED', message, options);
    this.exitCode = exitCode;
  }
}

/** PackageManagerMissingError: the package manager's programs are not on this host (not a Debian-like system). */
export class PackageManagerMissingError extends SystemManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('APT_MISSING', message, options);
  }
}
