// The package controller: keeps Package resources' packages installed, removed or up to date with
// the host's package manager (apt/dpkg, behind the PackageBackend interface so dnf or apk can
// follow), and keeps the list of upgradable packages that read tools answer from. This folder may
// import resources/, controllers/runtime/, the label selector of controllers/container/spec.ts and
// node builtins.

import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Controller, ControllerManager, ControllerOptions, EventRecorder } from '../runtime/index.ts';
import { createAptBackend, DEFAULT_LOCK_TIMEOUT_SEC } from './apt.ts';
import type { PackageBackend } from './backend.ts';
import { PackageReconciler } from './reconciler.ts';
import { PackageIndex, PackageUpdates } from './updates.ts';

export { createAptBackend, DEFAULT_LOCK_TIMEOUT_SEC, parsePolicy, parseUpgradable } from './apt.ts';
export type { AptBackendOptions } from './apt.ts';
export { planPackage } from './apply.ts';
export type { PackagePlan, PackageSpec, PackageState } from './apply.ts';
export {
  PackageManagerFailedError,
  PackageManagerLockedError,
  PackageManagerMissingError,
  PackageNotAvailableError,
} from './backend.ts';
export type { InstallState, OperationOptions, OperationOutcome, PackageBackend, PackageObservation, UpgradablePackage } from './backend.ts';
export { checkPackageName, checkPackageVersion, compareDebianVersions, PackageInvalidError } from './debian.ts';
export { isUpgradable, observePackage } from './observe.ts';
export { PackageReconciler } from './reconciler.ts';
export type { PackageReconcilerOptions } from './reconciler.ts';
export { DEFAULT_INDEX_INTERVAL_MS, DEFAULT_UPGRADABLE_MAX_AGE_MS, PackageIndex, PackageUpdates } from './updates.ts';
export type { PackageIndexOptions, PackageUpdatesOptions, UpgradableSnapshot } from './updates.ts';

/** DEFAULT_PACKAGE_RESYNC_MS is how often every Package is looked at again, to refresh candidate versions and repair drift. */
export const DEFAULT_PACKAGE_RESYNC_MS = 10 * 60_000;

/** PackageControllerOptions configure createPackageController. */
export interface PackageControllerOptions {
  store: ResourceStore;
  /** backend: the host's package manager (default apt/dpkg with no extra options). */
  backend?: PackageBackend;
  logger?: Logger;
  recorder?: EventRecorder;
  hostLabels?: () => Record<string, string> | undefined;
  /** indexIntervalMs: least time between two package index updates (default 1 h; 0 never runs `apt-get update`). */
  indexIntervalMs?: number;
  /** upgradableMaxAgeMs: a read of an older upgradable list starts a refresh (default 10 min). */
  upgradableMaxAgeMs?: number;
  now?: () => Date;
  /** controller: runtime options (name `package`, kind Package; one worker, 10 min resync). */
  controller?: Partial<Omit<ControllerOptions, 'kind'>>;
}

/** PackageController is what createPackageController returns. */
export interface PackageController {
  controller: Controller;
  reconciler: PackageReconciler;
  backend: PackageBackend;
  index: PackageIndex;
  /** updates answers "which packages can be upgraded" from its cache, never waiting for apt (for check_system_updates). */
  updates: PackageUpdates;
  /** stop ends background refreshes of the upgradable list. */
  stop(): Promise<void>;
}

/**
 * createPackageController registers the package controller with `manager`. It runs one worker: the
 * package manager does one thing at a time anyway, and a second worker would only wait for the lock.
 * The reconcile deadline leaves room for the lock wait plus a long install.
 */
export function createPackageController(manager: ControllerManager, opts: PackageControllerOptions): PackageController {
  const logger = (opts.logger ?? silentLogger).child({ controller: opts.controller?.name ?? 'package' });
  const backend = opts.backend ?? createAptBackend();
  const index = new PackageIndex({ backend, minIntervalMs: opts.indexIntervalMs, logger, ...(opts.now ? { now: opts.now } : {}) });
  const updates = new PackageUpdates({ backend, index, maxAgeMs: opts.upgradableMaxAgeMs, logger, ...(opts.now ? { now: opts.now } : {}) });
  const reconciler = new PackageReconciler({
    store: opts.store,
    backend,
    index,
    updates,
    logger,
    recorder: opts.recorder ?? manager.recorder,
    ...(opts.hostLabels ? { hostLabels: opts.hostLabels } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const controller = manager.add(
    {
      name: 'package',
      concurrency: 1,
      timeoutMs: DEFAULT_LOCK_TIMEOUT_SEC * 1000 + 30 * 60_000,
      resyncMs: DEFAULT_PACKAGE_RESYNC_MS,
      ...opts.controller,
      kind: 'Package',
    },
    reconciler,
  );
  return { controller, reconciler, backend, index, updates, stop: () => updates.close() };
}
