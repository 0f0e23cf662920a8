// ContainerReconciler converges one Container resource with the Docker engine, the Docker Compose
// way: the config hash label decides recreate, `state` decides start/stop, `restartedAt` decides a
// restart. It reads the store and the engine fresh on every call (level-triggered) and writes status
// once, at the end, as a patch.

import { parseResourceKey, resourceKey } from '../../resources/kinds.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Resource, ResourceStatus } from '../../resources/types.ts';
import {
  beginStatus,
  clearCondition,
  ConditionType,
  markNotReady,
  markReady,
  markReconciling,
  markStalled,
  setCondition,
  TerminalError,
  type EventRecorder,
  type Reconciler,
  type Result,
  type StatusPatch,
} from '../runtime/index.ts';
import { ensureImage } from '../image/apply.ts';
import { createContainer, removeContainer, restartContainer, startContainer, stopContainer, unpauseContainer } from './apply.ts';
import { DockerApiError, type ContainerObservation, type DockerEngine } from './engine.ts';
import { observeContainer, statusFields, type ContainerStatusFields } from './observe.ts';
import {
  checkPolicy,
  configHash,
  desiredState,
  hostPortClaims,
  LABEL_CONFIG_HASH,
  LABEL_RESTARTED_AT,
  selectorMatches,
  type ContainerPolicy,
  type ContainerSpec,
  type Ownership,
} from './spec.ts';

/** ContainerReason lists the condition reasons this controller writes. */
export const ContainerReason = {
  Running: 'Running',
  Stopped: 'Stopped',
  Suspended: 'Suspended',
  HostNotSelected: 'HostNotSelected',
  Creating: 'Creating',
  Progressing: 'Progressing',
  HealthCheckPending: 'HealthCheckPending',
  Unhealthy: 'Unhealthy',
  CrashLoop: 'CrashLoop',
  DependencyNotReady: 'DependencyNotReady',
  DependencyCycle: 'DependencyCycle',
  NameConflict: 'NameConflict',
  PolicyViolation: 'PolicyViolation',
  PortConflict: 'PortConflict',
  InvalidSpec: 'InvalidSpec',
} as const;

/** CONTAINER_START_FAILED is the code of ContainerStartError (the runtime turns it into reason ContainerStartFailed). */
export const CONTAINER_START_FAILED = 'CONTAINER_START_FAILED';

/** ContainerStartError: the daemon refused to start the container (port in use, missing mount source...). Retried with backoff. */
export class ContainerStartError extends Error {
  readonly code = CONTAINER_START_FAILED;
  constructor(name: string, daemonMessage: string, options?: { cause?: unknown }) {
    super(`starting container ${name} failed: ${daemonMessage}`, options);
    this.name = 'ContainerStartError';
  }
}

/** Action is what one reconcile decided to do to the engine. */
export type Action = 'create' | 'recreate' | 'start' | 'stop' | 'restart' | 'unpause' | 'none';

/** PlanInput is what planAction decides from. */
export interface PlanInput {
  spec: ContainerSpec;
  /** current: our container, if any. */
  current: ContainerObservation | undefined;
  /** localImageId: the ID the spec's image reference has locally now, if present. */
  localImageId: string | undefined;
  now: Date;
}

/** Plan is planAction's decision, with why (for events and logs) and, for a future restartedAt, when to look again. */
export interface Plan {
  action: Action;
  why: string;
  /** restartDueInMs: spec.restartedAt is in the future; a restart is due after this long. */
  restartDueInMs?: number;
}

/**
 * planAction decides, without side effects, what converges the container with the spec:
 * - no container → create (and start unless `state: stopped`);
 * - a different config hash, or a container made from another image than the reference names
 *   locally now → recreate;
 * - `state` differs → start or stop;
 * - `restartedAt` is newer than both the label recorded at creation and the container's StartedAt
 *   → restart (Docker labels cannot change after create, so StartedAt is the evidence a restart
 *   happened; a restartedAt in the future schedules the restart for then);
 * - otherwise nothing.
 */
export function planAction(input: PlanInput): Plan {
  const { spec, current, localImageId, now } = input;
  if (!current) return { action: 'create', why: 'no container exists' };
  const hash = configHash(spec);
  const had = current.labels[LABEL_CONFIG_HASH];
  if (had !== hash) return { action: 'recreate', why: `the spec changed (config hash ${short(had)} → ${short(hash)})` };
  if (localImageId && current.imageId !== localImageId) {
    return { action: 'recreate', why: `image ${spec.image} now is ${short(localImageId)}, the container runs ${short(current.imageId)}` };
  }
  const want = desiredState(spec);
  const up = current.running || current.restarting;
  if (want === 'stopped') return up ? { action: 'stop', why: 'spec.state is stopped' } : { action: 'none', why: 'stopped as desired' };
  if (!up) return { action: 'start', why: `the container is ${current.status}` };
  if (current.paused) return { action: 'unpause', why: 'the container is paused' };
  if (spec.restartedAt && current.labels[LABEL_RESTARTED_AT] !== spec.restartedAt) {
    const at = Date.parse(spec.restartedAt);
    const started = current.startedAt ? Date.parse(current.startedAt) : 0;
    if (Number.isFinite(at) && started < at) {
      if (at > now.getTime()) return { action: 'none', why: 'a restart is scheduled', restartDueInMs: at - now.getTime() };
      return { action: 'restart', why: `spec.restartedAt is ${spec.restartedAt}, the container started ${current.startedAt ?? 'never'}` };
    }
  }
  return { action: 'none', why: 'running as desired' };
}

/** CrashLoopOptions tune how a container that keeps exiting is restarted. */
export interface CrashLoopOptions {
  /** minUptimeMs: a run shorter than this counts as a crash (default 10 s). */
  minUptimeMs?: number;
  /** backoffBaseMs: the wait before the second restart; it doubles with each crash (default 1 s). */
  backoffBaseMs?: number;
  /** backoffMaxMs: the longest wait between restarts (default 5 min). */
  backoffMaxMs?: number;
}

/** ContainerReconcilerOptions configure a ContainerReconciler. */
export interface ContainerReconcilerOptions {
  store: ResourceStore;
  engine: DockerEngine;
  logger?: Logger;
  /** recorder: where Normal/Warning events go (the manager's recorder, so `describe` shows them). */
  recorder?: EventRecorder;
  policy?: ContainerPolicy;
  /** instance: scope ownership to containers labelled io.systemmanager.instance=<instance> (see spec.ts Ownership). */
  instance?: string;
  /** hostLabels: this host's labels, for spec.hostSelector; when absent every resource applies here. */
  hostLabels?: () => Record<string, string> | undefined;
  now?: () => Date;
  /** nameConflictRecheckMs: how often a name clash with an unmanaged container is looked at again (default 30 s). */
  nameConflictRecheckMs?: number;
  /** dependencyRecheckMs: how often a dependent waiting for its dependencies looks again (default 2 s; dependencies' status changes also wake it). */
  dependencyRecheckMs?: number;
  /** healthRecheckMs: how often a container whose health check has not passed yet is looked at (default 5 s; health events also wake it). */
  healthRecheckMs?: number;
  /** portConflictRecheckMs: how often a resource that lost a host port to another resource looks again (default 30 s). */
  portConflictRecheckMs?: number;
  crashLoop?: CrashLoopOptions;
}

interface CrashState {
  crashes: number;
  nextStartAt: number;
  lastExitCode?: number;
}

/** ContainerReconciler is the Reconciler of the Container kind. */
export class ContainerReconciler implements Reconciler {
  private readonly store: ResourceStore;
  private readonly engine: DockerEngine;
  private readonly log: Logger;
  private readonly recorder: EventRecorder | undefined;
  private readonly policy: ContainerPolicy;
  private readonly ownership: Ownership;
  private readonly hostLabels: (() => Record<string, string> | undefined) | undefined;
  private readonly now: () => Date;
  private readonly nameConflictRecheckMs: number;
  private readonly dependencyRecheckMs: number;
  private readonly healthRecheckMs: number;
  private readonly portConflictRecheckMs: number;
  private readonly minUptimeMs: number;
  private readonly crashBaseMs: number;
  private readonly crashMaxMs: number;
  private readonly crashes = new Map<string, CrashState>();
  private readonly blocked = new Map<string, string>();

  constructor(opts: ContainerReconcilerOptions) {
    this.store = opts.store;
    this.engine = opts.engine;
    this.log = opts.logger ?? silentLogger;
    this.recorder = opts.recorder;
    this.policy = opts.policy ?? {};
    this.ownership = opts.instance ? { instance: opts.instance } : {};
    this.hostLabels = opts.hostLabels;
    this.now = opts.now ?? (() => new Date());
    this.nameConflictRecheckMs = opts.nameConflictRecheckMs ?? 30_000;
    this.dependencyRecheckMs = opts.dependencyRecheckMs ?? 2_000;
    this.healthRecheckMs = opts.healthRecheckMs ?? 5_000;
    this.portConflictRecheckMs = opts.portConflictRecheckMs ?? 30_000;
    this.minUptimeMs = opts.crashLoop?.minUptimeMs ?? 10_000;
    this.crashBaseMs = opts.crashLoop?.backoffBaseMs ?? 1_000;
    this.crashMaxMs = opts.crashLoop?.backoffMaxMs ?? 300_000;
  }

  /** reconcile converges `Container/<name>`; a missing resource means prune what we created for it. */
  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const { kind, name } = parseResourceKey(key);
    if (kind !== 'Container') throw new TerminalError('WrongKind', `the container controller cannot reconcile ${key}`);
    const resource = this.store.getByKey(key);
    if (!resource) return this.prune(name, 'its resource was deleted', signal);
    this.blocked.delete(name);
    const spec = resource.spec as unknown as ContainerSpec;
    const patch = beginStatus(this.store, key, { now: this.now })!;
    try {
      return await this.converge(name, resource, spec, patch, signal);
    } finally {
      // Status fields observed so far are worth keeping even when the reconcile fails; the runtime
      // then adds the failure's condition on top.
      patch.commit();
    }
  }

  /** forget drops what the reconciler remembers about a name (crash-loop backoff). */
  forget(name: string): void {
    this.crashes.delete(name);
  }

  /**
   * blockedPrunes lists the names whose containers would be pruned but are kept because the source
   * does not allow pruning, with why. (The runtime forgets the events of deleted objects, so this is
   * where the report lives besides the log.)
   */
  blockedPrunes(): Map<string, string> {
    return new Map(this.blocked);
  }

  private async converge(name: string, resource: Resource, spec: ContainerSpec, patch: StatusPatch, signal: AbortSignal): Promise<Result> {
    const st = patch.status;
    const key = resourceKey('Container', name);

    const labels = spec.hostSelector ? this.hostLabels?.() : undefined;
    if (spec.hostSelector && labels && !selectorMatches(spec.hostSelector, labels)) {
      // Not for this host: what we run under this name here is removed like a deleted resource.
      await this.prune(name, 'its hostSelector does not match this host', signal);
      setFields(st, { state: 'missing' });
      markReady(st, ContainerReason.HostNotSelected, "spec.hostSelector does not match this host's labels: nothing runs here", patch);
      return {};
    }

    if (spec.suspend) {
      const view = await observeContainer(this.engine, name, signal, this.ownership);
      setFields(st, statusFields(view.managed[0], undefined));
      setCondition(st, { type: ConditionType.Ready, status: 'Unknown', reason: ContainerReason.Suspended, message: 'spec.suspend is true: the controller makes no changes and repairs no drift' }, patch);
      clearCondition(st, ConditionType.Reconciling);
      clearCondition(st, ConditionType.Stalled);
      return {};
    }

    const { violations } = checkPolicy(spec, this.policy, this.engine.endpoint);
    if (violations.length) {
      const message = `refused by policy: ${violations.join('; ')}`;
      markStalled(st, ContainerReason.PolicyViolation, message, patch);
      throw new TerminalError(ContainerReason.PolicyViolation, message);
    }

    const cycle = findCycle(this.store, name);
    if (cycle) {
      const message = `dependsOn forms a cycle: ${cycle.join(' → ')}`;
      markStalled(st, ContainerReason.DependencyCycle, message, patch);
      throw new TerminalError(ContainerReason.DependencyCycle, message);
    }

    const view = await observeContainer(this.engine, name, signal, this.ownership);
    if (view.clash) {
      // Not a TerminalError: nothing in our spec is wrong, and the clash clears by itself when the
      // other container goes. So it is Stalled (a human must act) but looked at again on a slow timer.
      const message =
        `a container named ${name} (${view.clash.id.slice(0, 12)}) exists without the label io.systemmanager.managed-by=systemmanager; ` +
        'it is never touched: remove or rename it, or rename this resource';
      setFields(st, { state: 'missing' });
      if (markStalled(st, ContainerReason.NameConflict, message, patch)) this.recorder?.record(key, 'Warning', ContainerReason.NameConflict, message);
      return { requeueAfterMs: this.nameConflictRecheckMs };
    }

    let current = await this.dropDuplicates(name, view.managed, spec, signal);
    const local = await this.engine.inspectImage(spec.image, signal);
    const plan = planAction({ spec, current, localImageId: local?.id, now: this.now() });
    const want = desiredState(spec);

    if (plan.action === 'create' || plan.action === 'recreate' || plan.action === 'start') {
      if (want === 'running') {
        const waiting = await this.waitingOn(spec, signal);
        if (waiting) {
          const message = `waiting for ${waiting}`;
          setFields(st, statusFields(current, configHash(spec)));
          markNotReady(st, ContainerReason.DependencyNotReady, message, patch);
          setCondition(st, { type: ConditionType.Reconciling, status: 'True', reason: ContainerReason.DependencyNotReady, message }, patch);
          return { requeueAfterMs: this.dependencyRecheckMs };
        }
        const claimant = this.portClaimedByOther(name, resource, spec);
        if (claimant) {
          setFields(st, statusFields(current, configHash(spec)));
          markNotReady(st, ContainerReason.PortConflict, claimant, patch);
          return { requeueAfterMs: this.portConflictRecheckMs };
        }
      }
    }

    // The container's own last words say why it keeps exiting (a port in use, a missing file...).
    const crashOutput = plan.action === 'start' && current && this.exitedQuickly(current) ? await this.lastOutput(current.id, signal) : '';

    if (plan.action !== 'none' && !(plan.action === 'start' && this.crashGateWaits(name, current!))) {
      // Visible while the action runs (a stop may take stopTimeout): Reconciling, Ready Unknown.
      markReconciling(st, ContainerReason.Progressing, `${plan.action}: ${plan.why}`, patch);
      patch.commit();
    }

    switch (plan.action) {
      case 'create':
      case 'recreate': {
        await ensureImage(this.engine, spec.image, spec.pullPolicy, signal, this.now);
        // The old container stops with its own StopTimeout (set from the spec it was created from).
        if (current) await removeContainer(this.engine, current.id, undefined, signal);
        this.crashes.delete(name);
        const id = await this.create(name, spec, signal);
        this.recorder?.record(key, 'Normal', plan.action === 'create' ? 'Created' : 'Recreated', `container ${id.slice(0, 12)}: ${plan.why}`);
        this.log.info(plan.action === 'create' ? 'container created' : 'container recreated', { name, id, why: plan.why });
        current = await this.engine.inspectContainer(id, signal);
        // Recorded now so a failed start still shows the container it failed to start.
        setFields(st, statusFields(current, configHash(spec)));
        if (want === 'running') {
          await this.start(name, id, signal);
          current = await this.engine.inspectContainer(id, signal);
        }
        break;
      }
      case 'start': {
        const gate = this.crashGate(name, current!, false, crashOutput);
        if (gate.waitMs > 0) {
          setFields(st, statusFields(current, undefined));
          markNotReady(st, ContainerReason.CrashLoop, gate.message, patch);
          return { requeueAfterMs: gate.waitMs };
        }
        await this.start(name, current!.id, signal);
        this.recorder?.record(key, 'Normal', 'Started', `container ${current!.id.slice(0, 12)}: ${plan.why}`);
        current = await this.engine.inspectContainer(current!.id, signal);
        break;
      }
      case 'stop':
        await stopContainer(this.engine, current!.id, spec, signal);
        this.recorder?.record(key, 'Normal', 'Stopped', `container ${current!.id.slice(0, 12)}: ${plan.why}`);
        current = await this.engine.inspectContainer(current!.id, signal);
        break;
      case 'restart':
        await restartContainer(this.engine, current!.id, spec, signal);
        this.recorder?.record(key, 'Normal', 'Restarted', `container ${current!.id.slice(0, 12)}: ${plan.why}`);
        this.log.info('container restarted', { name, why: plan.why });
        current = await this.engine.inspectContainer(current!.id, signal);
        break;
      case 'unpause':
        await unpauseContainer(this.engine, current!.id, signal);
        this.recorder?.record(key, 'Normal', 'Unpaused', `container ${current!.id.slice(0, 12)}: ${plan.why}`);
        current = await this.engine.inspectContainer(current!.id, signal);
        break;
      case 'none':
        break;
    }

    setFields(st, statusFields(current, configHash(spec)));
    const exitedOutput = want === 'running' && current && !current.running && !current.restarting ? await this.lastOutput(current.id, signal) : '';
    return this.report(name, want, current, plan, patch, exitedOutput);
  }

  /** crashGateWaits tells, without counting anything, whether crashGate would hold a start back now. */
  private crashGateWaits(name: string, c: ContainerObservation): boolean {
    const crash = this.crashes.get(name);
    return this.exitedQuickly(c) && crash !== undefined && crash.nextStartAt > this.now().getTime();
  }

  /** exitedQuickly: the container's last run was shorter than minUptimeMs (a crash, not a stop after a while). */
  private exitedQuickly(c: ContainerObservation): boolean {
    const ran = runMs(c);
    return ran !== undefined && ran < this.minUptimeMs;
  }

  /** lastOutput is the tail of a container's output, on one line, for a condition message ('' when there is none or it cannot be read). */
  private async lastOutput(id: string, signal: AbortSignal): Promise<string> {
    try {
      const text = (await this.engine.tailLogs(id, 3, signal)).trim().replace(/\s*\n\s*/g, ' | ');
      return text.length > 300 ? `…${text.slice(-299)}` : text;
    } catch {
      return '';
    }
  }

  /** report sets Ready from what the engine shows after this reconcile's action. */
  private report(name: string, want: 'running' | 'stopped', c: ContainerObservation | undefined, plan: Plan, patch: StatusPatch, output = ''): Result {
    const st = patch.status;
    if (!c) {
      // Removed behind our back between our action and the inspect: the event brings us back.
      markReconciling(st, ContainerReason.Creating, 'the container disappeared while it was being converged', patch);
      return { requeueAfterMs: 1_000 };
    }
    const id = c.id.slice(0, 12);
    if (want === 'stopped') {
      if (c.running || c.restarting) {
        markReconciling(st, ContainerReason.Stopped, `container ${id} is still ${c.status}`, patch);
        return { requeueAfterMs: 1_000 };
      }
      markReady(st, ContainerReason.Stopped, `container ${id} is ${c.status}, as spec.state asks`, patch);
      return {};
    }
    const crash = this.crashes.get(name);
    if (c.restarting) {
      const message = `container ${id} keeps exiting (last exit code ${c.exitCode}); Docker restarts it per its restart policy, ${c.restartCount} restart(s) so far`;
      markNotReady(st, ContainerReason.CrashLoop, message, patch);
      return { requeueAfterMs: this.healthRecheckMs };
    }
    if (!c.running) {
      // Started but already gone: the die event brings us back, and crashGate spaces the restarts.
      const said = output ? `; last output: ${output}` : '';
      const message = c.error ? `container ${id} did not stay up: ${c.error}${said}` : `container ${id} exited with code ${c.exitCode} right after it started${said}`;
      markNotReady(st, ContainerReason.CrashLoop, message, patch);
      const gate = this.crashGate(name, c, true);
      return { requeueAfterMs: Math.max(gate.waitMs, 100) };
    }
    const uptime = this.now().getTime() - (c.startedAt ? Date.parse(c.startedAt) : 0);
    // One short run is not a loop (a `docker stop` soon after start looks the same): only from the
    // second short run in a row is the container reported as CrashLoop. Either way, look again once
    // it has been up minUptimeMs, to clear the count.
    let settle: number | undefined;
    if (crash && crash.crashes > 0) {
      if (uptime < this.minUptimeMs) {
        settle = this.minUptimeMs - uptime + 50;
        if (crash.crashes >= 2) {
          const message = `container ${id} was restarted after ${crash.crashes} short runs (last exit code ${crash.lastExitCode ?? 'unknown'}); waiting to see it stay up ${Math.round(this.minUptimeMs / 1000)} s`;
          markNotReady(st, ContainerReason.CrashLoop, message, patch);
          return { requeueAfterMs: settle };
        }
      } else {
        this.crashes.delete(name);
      }
    }
    const scheduled = Math.min(plan.restartDueInMs ?? Infinity, settle ?? Infinity);
    const next = Number.isFinite(scheduled) ? { requeueAfterMs: scheduled } : {};
    if (c.health === 'starting') {
      markReconciling(st, ContainerReason.HealthCheckPending, `container ${id} is running; its health check has not passed yet`, patch);
      return { requeueAfterMs: Math.min(this.healthRecheckMs, scheduled) };
    }
    if (c.health === 'unhealthy') {
      clearCondition(st, ConditionType.Reconciling);
      markNotReady(st, ContainerReason.Unhealthy, `container ${id} is running but its health check fails`, patch);
      return { requeueAfterMs: Math.min(this.healthRecheckMs, scheduled) };
    }
    markReady(st, ContainerReason.Running, `container ${id} is running${c.health === 'healthy' ? ' and healthy' : ''}`, patch);
    return next;
  }

  /**
   * crashGate spaces out restarts of a container that keeps exiting right after it starts: the
   * first restart is immediate, then the wait doubles from backoffBaseMs up to backoffMaxMs. With
   * `afterFailedStart` the caller has just seen the crash and only wants the wait until the next start.
   */
  private crashGate(name: string, c: ContainerObservation, afterFailedStart = false, output = ''): { waitMs: number; message: string } {
    const now = this.now().getTime();
    const ran = runMs(c);
    const quickExit = this.exitedQuickly(c);
    if (!quickExit) {
      if (!afterFailedStart) this.crashes.delete(name);
      return { waitMs: 0, message: '' };
    }
    const crash = this.crashes.get(name) ?? { crashes: 0, nextStartAt: 0 };
    crash.lastExitCode = c.exitCode;
    this.crashes.set(name, crash);
    const waitMs = Math.max(0, crash.nextStartAt - now);
    const message =
      `container ${c.id.slice(0, 12)} exits right after it starts (exit code ${c.exitCode} after ${ran} ms${c.oomKilled ? ', OOM-killed' : ''}); ` +
      `${crash.crashes} restart(s) so far, next in ${Math.ceil(waitMs / 1000)} s${output ? `; last output: ${output}` : ''}`;
    if (afterFailedStart || waitMs > 0) return { waitMs, message };
    crash.crashes += 1;
    crash.nextStartAt = now + Math.min(this.crashBaseMs * 2 ** (crash.crashes - 1), this.crashMaxMs);
    if (crash.crashes > 1) this.recorder?.record(resourceKey('Container', name), 'Warning', ContainerReason.CrashLoop, message);
    return { waitMs: 0, message };
  }

  private async create(name: string, spec: ContainerSpec, signal: AbortSignal): Promise<string> {
    try {
      return await createContainer(this.engine, name, spec, signal, this.ownership);
    } catch (err) {
      // 400: the daemon says this spec can never work as written; retrying cannot help.
      if (err instanceof DockerApiError && err.statusCode === 400) {
        throw new TerminalError(ContainerReason.InvalidSpec, `the Docker engine rejected the container spec: ${err.daemonMessage}`, { cause: err });
      }
      throw err;
    }
  }

  private async start(name: string, id: string, signal: AbortSignal): Promise<void> {
    try {
      await startContainer(this.engine, id, signal);
    } catch (err) {
      if (err instanceof DockerApiError) throw new ContainerStartError(name, err.daemonMessage, { cause: err });
      throw err;
    }
  }

  /** dropDuplicates keeps one managed container per name (a crash between create and remove can leave two) and removes the rest. */
  private async dropDuplicates(name: string, managed: ContainerObservation[], spec: ContainerSpec, signal: AbortSignal): Promise<ContainerObservation | undefined> {
    if (managed.length <= 1) return managed[0];
    const hash = configHash(spec);
    const score = (c: ContainerObservation) => (c.name === name ? 4 : 0) + (c.labels[LABEL_CONFIG_HASH] === hash ? 2 : 0) + (c.running ? 1 : 0);
    const [keep, ...rest] = [...managed].sort((a, b) => score(b) - score(a));
    for (const c of rest) {
      await removeContainer(this.engine, c.id, spec, signal);
      this.recorder?.record(resourceKey('Container', name), 'Normal', 'DuplicateRemoved', `removed duplicate container ${c.id.slice(0, 12)} (${c.name})`);
    }
    return keep;
  }

  /** waitingOn describes the dependencies that are not running (and healthy, with a health check) yet, or undefined when all are. */
  private async waitingOn(spec: ContainerSpec, signal: AbortSignal): Promise<string | undefined> {
    const waits: string[] = [];
    for (const dep of spec.dependsOn ?? []) {
      const res = this.store.get('Container', dep);
      if (!res) {
        waits.push(`Container/${dep} (no such resource)`);
        continue;
      }
      const view = await observeContainer(this.engine, dep, signal, this.ownership);
      const c = view.managed.find((m) => m.name === dep) ?? view.managed[0];
      if (!c) waits.push(`Container/${dep} (not created yet)`);
      else if (!c.running) waits.push(`Container/${dep} (${c.status})`);
      else if (c.health && c.health !== 'healthy') waits.push(`Container/${dep} (health: ${c.health})`);
    }
    return waits.length ? waits.join(', ') : undefined;
  }

  /**
   * portClaimedByOther finds another Container resource publishing one of our host ports. The older
   * resource (then the lower name) keeps the port, so exactly one of two claimants waits.
   */
  private portClaimedByOther(name: string, self: Resource, spec: ContainerSpec): string | undefined {
    const mine = hostPortClaims(spec);
    if (!mine.length) return undefined;
    for (const other of this.store.list('Container')) {
      if (other.metadata.name === name) continue;
      const os = other.spec as unknown as ContainerSpec;
      if (os.suspend || desiredState(os) === 'stopped') continue;
      const wins =
        other.metadata.creationTimestamp < self.metadata.creationTimestamp ||
        (other.metadata.creationTimestamp === self.metadata.creationTimestamp && other.metadata.name < name);
      if (!wins) continue;
      for (const a of mine) {
        for (const b of hostPortClaims(os)) {
          if (a.hostPort === b.hostPort && a.protocol === b.protocol && (a.hostIP === b.hostIP || a.hostIP === '' || b.hostIP === '')) {
            return (
              `host port ${a.hostPort}/${a.protocol} (address ${a.hostIP || 'any'}) is also claimed by Container/${other.metadata.name} ` +
              `(address ${b.hostIP || 'any'}), which was declared first; this one waits until that claim goes`
            );
          }
        }
      }
    }
    return undefined;
  }

  /** prune stops and removes our containers for a name that should not run here, unless the source forbids pruning. */
  private async prune(name: string, why: string, signal: AbortSignal): Promise<Result> {
    this.crashes.delete(name);
    const view = await observeContainer(this.engine, name, signal, this.ownership);
    if (!view.managed.length) {
      this.blocked.delete(name);
      return {};
    }
    const key = resourceKey('Container', name);
    const source = this.store.sourceState;
    if (!source.pruneAllowed) {
      const message = `not removing container ${name} (${why}): pruning is not allowed now${source.message ? ` (${source.message})` : ''}`;
      this.log.warn('prune refused by the empty-source guard', { name, why, source: source.message });
      this.recorder?.record(key, 'Warning', 'PruneBlocked', message);
      this.blocked.set(name, message);
      // When the source later allows pruning, the controller's source-state listener enqueues orphans again.
      return {};
    }
    this.blocked.delete(name);
    for (const c of view.managed) {
      await removeContainer(this.engine, c.id, undefined, signal);
      this.log.info('container pruned', { name, id: c.id, why });
      this.recorder?.record(key, 'Normal', 'Pruned', `removed container ${c.id.slice(0, 12)}: ${why}`);
    }
    return {};
  }
}

function runMs(c: ContainerObservation): number | undefined {
  return c.startedAt && c.finishedAt ? Date.parse(c.finishedAt) - Date.parse(c.startedAt) : undefined;
}

const STATUS_FIELDS = ['containerID', 'imageID', 'state', 'health', 'restartCount', 'startedAt', 'finishedAt', 'exitCode', 'configHash'] as const;

function setFields(st: ResourceStatus, fields: ContainerStatusFields): void {
  for (const f of STATUS_FIELDS) {
    const v = fields[f];
    if (v === undefined) delete st[f];
    else st[f] = v;
  }
}

/** findCycle returns the dependsOn path from `name` back to itself, if there is one. */
export function findCycle(store: ResourceStore, name: string): string[] | undefined {
  const deps = (n: string) => ((store.get('Container', n)?.spec as unknown as ContainerSpec | undefined)?.dependsOn ?? []);
  const path: string[] = [name];
  const seen = new Set<string>();
  const walk = (n: string): string[] | undefined => {
    for (const d of deps(n)) {
      if (d === name) return [...path, d];
      if (seen.has(d)) continue;
      seen.add(d);
      path.push(d);
      const found = walk(d);
      if (found) return found;
      path.pop();
    }
    return undefined;
  };
  return walk(name);
}

function short(hash: string | undefined): string {
  if (!hash) return 'none';
  return hash.replace(/^sha256:/, '').slice(0, 12);
}
