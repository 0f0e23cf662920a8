// When the package index is refreshed, and the cached list of upgradable packages that read tools
// (check_system_updates) answer from.
//
// Index policy: `apt-get update` runs only when something needs fresh lists — a `latest` Package, a
// package or pinned version the current index does not offer, or a refresh of the upgradable list —
// and then at most once per `minIntervalMs` (default 1 hour), counted from the last attempt, so a
// failing mirror is not hammered. The first need after the agent starts runs it. 0 turns it off:
// the host's own timers (apt-daily.timer, unattended-upgrades) keep the index fresh.

import type { Logger } from '../../resources/log.ts';
import { silentLogger } from '../../resources/log.ts';
import type { OperationOptions, PackageBackend, UpgradablePackage } from './backend.ts';

/** DEFAULT_INDEX_INTERVAL_MS is the least time between two `apt-get update` runs. */
export const DEFAULT_INDEX_INTERVAL_MS = 60 * 60_000;
/** DEFAULT_UPGRADABLE_MAX_AGE_MS is how old the upgradable list may get before a read starts a refresh. */
export const DEFAULT_UPGRADABLE_MAX_AGE_MS = 10 * 60_000;

/** PackageIndexOptions configure a PackageIndex. */
export interface PackageIndexOptions {
  backend: PackageBackend;
  /** minIntervalMs: least time between two index updates (default 1 h); 0 never updates. */
  minIntervalMs?: number;
  logger?: Logger;
  now?: () => Date;
}

/** PackageIndex decides when the package index is refreshed, and refreshes it (one refresh at a time). */
export class PackageIndex {
  private readonly backend: PackageBackend;
  private readonly minIntervalMs: number;
  private readonly log: Logger;
  private readonly now: () => Date;
  private lastAttempt: Date | undefined;
  private running: Promise<boolean> | undefined;
  /** lastUpdatedAt is when the last successful update finished. */
  lastUpdatedAt: Date | undefined;
  /** lastError is the message of the last failed update, cleared by a successful one. */
  lastError: string | undefined;

  constructor(opts: PackageIndexOptions) {
    this.backend = opts.backend;
    this.minIntervalMs = opts.minIntervalMs ?? DEFAULT_INDEX_INTERVAL_MS;
    if (!(this.minIntervalMs >= 0)) throw new RangeError('minIntervalMs must be >= 0');
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
  }

  /** due tells whether an update would run now. */
  get due(): boolean {
    if (this.minIntervalMs === 0) return false;
    return this.lastAttempt === undefined || this.now().getTime() - this.lastAttempt.getTime() >= this.minIntervalMs;
  }

  /**
   * refreshIfDue updates the index when the policy allows; it returns whether an update ran and
   * succeeded. A failed update is logged and remembered, not thrown: the caller goes on with the
   * index it has, and its own error (package not available) says what is missing.
   */
  refreshIfDue(opts: OperationOptions = {}): Promise<boolean> {
    if (this.running) return this.running;
    if (!this.due) return Promise.resolve(false);
    this.lastAttempt = this.now();
    this.running = this.backend
      .updateIndex(opts)
      .then(
        () => {
          this.lastUpdatedAt = this.now();
          this.lastError = undefined;
          this.log.info('package index updated', { manager: this.backend.manager });
          return true;
        },
        (err: unknown) => {
          this.lastError = (err as Error).message ?? String(err);
          this.log.warn('package index update failed; going on with the index we have', { error: this.lastError });
          return false;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}

/** UpgradableSnapshot is what a read of the upgradable list returns; it never waits for apt. */
export interface UpgradableSnapshot {
  /** packages: installed packages with a newer candidate, by name; empty until the first check finished. */
  packages: UpgradablePackage[];
  /** checkedAt: when the list was computed (RFC 3339); undefined before the first check. */
  checkedAt?: string;
  /** indexUpdatedAt: when this agent last refreshed the package index, if it has. */
  indexUpdatedAt?: string;
  /** stale: the list is older than its maximum age, or a package changed since; a refresh is under way. */
  stale: boolean;
  /** refreshing: a check is running now. */
  refreshing: boolean;
  /** error: why the last check failed (for example apt is missing); the previous list, if any, is kept. */
  error?: string;
}

/** PackageUpdatesOptions configure PackageUpdates. */
export interface PackageUpdatesOptions {
  backend: PackageBackend;
  index: PackageIndex;
  /** maxAgeMs: a read of an older list starts a refresh in the background (default 10 min). */
  maxAgeMs?: number;
  logger?: Logger;
  now?: () => Date;
}

/**
 * PackageUpdates caches the list of upgradable packages. Reads (snapshot) answer from the cache at
 * once and start a background refresh when it is stale; the package controller refreshes it after
 * every change it makes. close() aborts a refresh in flight and waits for it.
 */
export class PackageUpdates {
  private readonly backend: PackageBackend;
  private readonly index: PackageIndex;
  private readonly maxAgeMs: number;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly closing = new AbortController();
  private packages: UpgradablePackage[] = [];
  private checkedAt: Date | undefined;
  private invalid = false;
  private error: string | undefined;
  private running: Promise<UpgradableSnapshot> | undefined;

  constructor(opts: PackageUpdatesOptions) {
    this.backend = opts.backend;
    this.index = opts.index;
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_UPGRADABLE_MAX_AGE_MS;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
  }

  /** snapshot returns the cached list now; when it is stale (or was never computed) it starts a refresh it does not wait for. */
  snapshot(): UpgradableSnapshot {
    const stale = this.isStale();
    if (stale && !this.running && !this.closing.signal.aborted) void this.refresh({ updateIndex: true });
    return this.view();
  }

  /** invalidate marks the list stale (a package changed); the next read or refresh recomputes it. */
  invalidate(): void {
    this.invalid = true;
  }

  /**
   * refresh recomputes the list (one computation at a time; a second caller shares the first's) and
   * returns the new snapshot. With `updateIndex` it first refreshes the index when the index policy allows.
   * It never throws: a failure is kept in `error`.
   */
  refresh(opts: { updateIndex?: boolean; signal?: AbortSignal } = {}): Promise<UpgradableSnapshot> {
    if (this.running) return this.running;
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.closing.signal]) : this.closing.signal;
    this.invalid = false;
    this.running = (async () => {
      try {
        if (opts.updateIndex) await this.index.refreshIfDue({ signal });
        this.packages = await this.backend.listUpgradable(signal);
        this.checkedAt = this.now();
        this.error = undefined;
      } catch (err) {
        this.error = (err as Error).message ?? String(err);
        this.log.warn('listing upgradable packages failed', { error: this.error });
      } finally {
        this.running = undefined;
      }
      return this.view();
    })();
    return this.running;
  }

  /** close stops background refreshes and waits for one in flight. */
  async close(): Promise<void> {
    this.closing.abort(new Error('package updates are closing'));
    await this.running;
  }

  private isStale(): boolean {
    return this.invalid || this.checkedAt === undefined || this.now().getTime() - this.checkedAt.getTime() >= this.maxAgeMs;
  }

  private view(): UpgradableSnapshot {
    const snap: UpgradableSnapshot = { packages: this.packages.map((p) => ({ ...p })), stale: this.isStale(), refreshing: this.running !== undefined };
    if (this.checkedAt) snap.checkedAt = this.checkedAt.toISOString();
    if (this.index.lastUpdatedAt) snap.indexUpdatedAt = this.index.lastUpdatedAt.toISOString();
    if (this.error !== undefined) snap.error = this.error;
    return snap;
  }
}
