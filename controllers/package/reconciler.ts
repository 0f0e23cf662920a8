// PackageReconciler keeps a Package resource's package installed, removed or up to date, and reports
// installedVersion, candidateVersion and upgradable. Deleting a Package resource leaves the package
// as it is: declare `state: absent` to remove one (removing software because a file went missing
// from a checkout would be too easy to do by accident).

import { parseResourceKey } from '../../resources/kinds.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import {
  beginStatus,
  clearCondition,
  ConditionType,
  markReady,
  markReconciling,
  setCondition,
  TerminalError,
  type EventRecorder,
  type Reconciler,
  type Result,
} from '../runtime/index.ts';
import { selectorMatches } from '../container/spec.ts';
import { applyPlan, planPackage, reasonOfPlan, type PackagePlan, type PackageSpec } from './apply.ts';
import { PackageManagerFailedError, type PackageBackend, type PackageObservation } from './backend.ts';
import { checkPackageName, checkPackageVersion, PackageInvalidError } from './debian.ts';
import { observePackage, setPackageFields } from './observe.ts';
import type { PackageIndex, PackageUpdates } from './updates.ts';

/** PackageReconcilerOptions configure a PackageReconciler. */
export interface PackageReconcilerOptions {
  store: ResourceStore;
  backend: PackageBackend;
  index: PackageIndex;
  /** updates: the upgradable-packages cache, refreshed after every change this reconciler makes. */
  updates?: PackageUpdates;
  logger?: Logger;
  recorder?: EventRecorder;
  hostLabels?: () => Record<string, string> | undefined;
  now?: () => Date;
}

/** PackageReconciler is the Reconciler of the Package kind. */
export class PackageReconciler implements Reconciler {
  private readonly opts: PackageReconcilerOptions;
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(opts: PackageReconcilerOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * reconcile converges `Package/<name>`. Failures throw with a stable code, so the runtime backs off
   * and writes Ready=False with the reason (PackageNotAvailable, AptLocked, AptFailed, AptMissing);
   * an invalid name or version is a TerminalError (Stalled).
   */
  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const { kind } = parseResourceKey(key);
    if (kind !== 'Package') throw new TerminalError('WrongKind', `the package controller cannot reconcile ${key}`);
    const patch = beginStatus(this.opts.store, key, { now: this.now });
    if (!patch) return {};
    const spec = patch.object.spec as unknown as PackageSpec;
    const st = patch.status;
    checkSpec(spec);
    const backend = this.opts.backend;
    let obs: PackageObservation | undefined;
    try {
      const labels = spec.hostSelector ? this.opts.hostLabels?.() : undefined;
      if (spec.hostSelector && labels && !selectorMatches(spec.hostSelector, labels)) {
        markReady(st, 'HostNotSelected', "spec.hostSelector does not match this host's labels: nothing to do here", patch);
        return {};
      }
      obs = await observePackage(backend, spec.name, signal);
      if (spec.suspend) {
        setPackageFields(st, obs);
        setCondition(st, { type: ConditionType.Ready, status: 'Unknown', reason: 'Suspended', message: 'spec.suspend is true: the controller changes nothing' }, patch);
        clearCondition(st, ConditionType.Reconciling);
        clearCondition(st, ConditionType.Stalled);
        return {};
      }

      const waiting = {
        signal,
        onWaiting: (message: string) => {
          markReconciling(st, 'WaitingForLock', `waiting for the package manager lock: ${message}`, patch);
          patch.commit();
        },
      };
      let plan = planPackage(spec, obs);
      // `latest` means "as new as the repositories offer", so it looks at a fresh index; an install
      // the current index cannot satisfy looks once more after a refresh. Both within the index policy.
      const wantsIndex = (spec.state ?? 'present') === 'latest' || (plan.action === 'install' && plan.needsIndex);
      if (wantsIndex && this.opts.index.due) {
        if (await this.opts.index.refreshIfDue(waiting)) {
          obs = await observePackage(backend, spec.name, signal);
          plan = planPackage(spec, obs);
        }
      }
      setPackageFields(st, obs);
      if (plan.action === 'none') {
        markReady(st, plan.reason, plan.message, patch);
        return {};
      }

      markReconciling(st, reasonOfPlan(plan), plan.message, patch);
      patch.commit();
      const before = obs;
      const outcome = await applyPlan(backend, spec, plan, waiting);
      obs = await observePackage(backend, spec.name, signal);
      setPackageFields(st, obs);
      const after = planPackage(spec, obs);
      if (after.action !== 'none') {
        throw new PackageManagerFailedError(
          `${backend.manager} finished without error but ${spec.name} is still not as declared (${describe(obs)}); last output: ${outcome?.output ?? ''}`,
          undefined,
        );
      }
      this.recordChange(key, plan, before, obs);
      markReady(st, after.reason, after.message, patch);
      this.opts.updates?.invalidate();
      await this.opts.updates?.refresh({ signal });
      return {};
    } catch (err) {
      // Without the signal: it may be the deadline that ended the reconcile, and the status should
      // still show what the host has now (a read takes a moment).
      obs = await observePackage(backend, spec.name).catch(() => obs);
      setPackageFields(st, obs);
      // The runtime writes Ready=False with this error's reason; a "waiting for the lock" that ended
      // in a timeout must not stay behind as Reconciling.
      clearCondition(st, ConditionType.Reconciling);
      throw err;
    } finally {
      patch.commit();
    }
  }

  private recordChange(key: string, plan: Exclude<PackagePlan, { action: 'none' }>, before: PackageObservation, after: PackageObservation): void {
    const name = after.name;
    let reason: string;
    let message: string;
    if (plan.action === 'remove') {
      reason = 'Removed';
      message = `removed ${name} ${before.installedVersion ?? ''}`.trim();
    } else {
      reason = { Install: 'Installed', Upgrade: 'Upgraded', Downgrade: 'Downgraded', Repair: 'Repaired' }[plan.verb];
      message = `${reason.toLowerCase()} ${name} ${after.installedVersion ?? ''}${before.installedVersion && plan.verb !== 'Install' ? ` (was ${before.installedVersion})` : ''}`.trim();
    }
    this.opts.recorder?.record(key, 'Normal', reason, message);
    this.log.info('package changed', { package: name, change: reason, version: after.installedVersion, previous: before.installedVersion });
  }
}

/** checkSpec refuses what the schema refuses too, for a resource that reached the store another way; such a spec can never work. */
function checkSpec(spec: PackageSpec): void {
  try {
    checkPackageName(spec.name);
    if (spec.version !== undefined) checkPackageVersion(spec.version);
  } catch (err) {
    if (err instanceof PackageInvalidError) throw new TerminalError('PackageInvalid', err.message, { cause: err });
    throw err;
  }
  if (spec.version !== undefined && (spec.state ?? 'present') !== 'present') {
    throw new TerminalError('PackageInvalid', `spec.version pins a version, which only state present can keep (state is ${spec.state})`);
  }
}

function describe(obs: PackageObservation): string {
  if (obs.state === 'installed') return `installed ${obs.installedVersion ?? ''}`.trim();
  if (obs.state === 'broken') return `half installed ${obs.installedVersion ?? ''}`.trim();
  return obs.state === 'config-files' ? 'removed, configuration files kept' : 'not installed';
}
