// The controller manager (after controller-runtime's manager and controller packages): it turns store
// events into queued keys, runs a bounded number of workers per controller, gives every reconcile a
// deadline, maps each outcome to a retry, a condition, an event, a log line and metrics, and shuts
// down gracefully.

import { setMaxListeners } from 'node:events';
import type { KindName } from '../../resources/kinds.ts';
import { parseResourceKey, resourceKey } from '../../resources/kinds.ts';
import type { Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Resource } from '../../resources/types.ts';
import { ConditionReason, markNotReady, markStalled } from './conditions.ts';
import { TerminalError, type ControllerOptions, type EventRecorder, type Reconciler, type Result } from './contracts.ts';
import { MemoryEventRecorder } from './events.ts';
import { beginStatus } from './status.ts';
import { WorkQueue, type WorkQueueMetrics } from './workqueue.ts';

/** ReconcileResultLabel is the `result` label of the reconcile counter, with controller-runtime's values. */
export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/**
 * ControllerMetrics receives the manager's measurements; the metrics package implements it with
 * controller-runtime's names (`controller_runtime_reconcile_total`, `..._reconcile_errors_total`,
 * `..._terminal_reconcile_errors_total`, `..._reconcile_panics_total`, `..._reconcile_time_seconds`,
 * `..._active_workers`). As in controller-runtime, terminal errors and panics are also counted in
 * reconcileErrors and in reconcileTotal with result `error`.
 */
export interface ControllerMetrics {
  reconcileTotal(controller: string, result: ReconcileResultLabel): void;
  reconcileErrors(controller: string): void;
  /** terminalErrors: reconciles that threw a TerminalError (never retried). */
  terminalErrors(controller: string): void;
  /** reconcilePanics: reconciles that threw something that is not an Error, the JavaScript analogue of a panic. */
  reconcilePanics(controller: string): void;
  reconcileTime(controller: string, seconds: number): void;
  /** activeWorkers: workers of the controller running a reconcile right now. */
  activeWorkers(controller: string, n: number): void;
  /** workQueue: the queue metrics of one controller; called once per controller. */
  workQueue(controller: string): WorkQueueMetrics;
}

/** ManagedEventRecorder is an EventRecorder that may also forget the events of a deleted object. */
export type ManagedEventRecorder = EventRecorder & { forget?(key: string): void };

/** ControllerManagerOptions configure a ControllerManager. */
export interface ControllerManagerOptions {
  store: ResourceStore;
  logger: Logger;
  /** recorder: where Warning events about failed reconciles go (default a MemoryEventRecorder). */
  recorder?: ManagedEventRecorder;
  metrics?: ControllerMetrics;
  /** now: the clock for condition and event times. */
  now?: () => Date;
  /** shutdownGraceMs: how long stop() lets in-flight reconciles finish before aborting them (default 10 s). */
  shutdownGraceMs?: number;
  /**
   * abandonGraceMs: how long a reconcile whose signal has aborted is still waited for. A reconcile
   * that ignores its signal longer is abandoned: its worker moves on, but its key stays busy until
   * the call settles, so the key still never runs twice at once (default 1 s).
   */
  abandonGraceMs?: number;
}

/** Controller is one registered reconciler with its own queue and workers. */
export interface Controller {
  readonly name: string;
  readonly kind: KindName;
  readonly queue: WorkQueue;
  /** enqueue asks for a reconcile of `Kind/name` (other event sources use this, such as Docker's event stream). */
  enqueue(key: string): void;
  /** enqueueAfter asks for a reconcile once `ms` have passed; an earlier pending request wins. */
  enqueueAfter(key: string, ms: number): void;
}

/** DEFAULT_CONCURRENCY is the number of workers of a controller unless its options say otherwise. */
export const DEFAULT_CONCURRENCY = 2;
/** DEFAULT_TIMEOUT_MS is the deadline of one reconcile unless the controller's options say otherwise. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** DEFAULT_RESYNC_MS is how often every key of a kind is enqueued unless the controller's options say otherwise. */
export const DEFAULT_RESYNC_MS = 5 * 60_000;
/** MAX_CONDITION_MESSAGE is the longest error message copied into a condition or event; the rest is cut. */
export const MAX_CONDITION_MESSAGE = 2048;

interface RunningController extends Controller {
  readonly reconciler: Reconciler;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly resyncMs: number;
  readonly log: Logger;
  workers: Promise<void>[];
  resyncTimer: NodeJS.Timeout | undefined;
  active: number;
}

type Outcome = { ok: true; result: Result } | { ok: false; error: unknown } | { abandoned: true };

interface Failure {
  kind: 'terminal' | 'error' | 'timeout' | 'panic';
  reason: string;
  message: string;
}

/**
 * ControllerManager runs controllers against one ResourceStore.
 *
 * Outcomes of a reconcile, as in controller-runtime:
 * - success: the key's backoff is reset; `requeueAfterMs > 0` looks again after that long;
 *   `requeueAfterMs <= 0` looks again soon but rate-limited, so it cannot spin.
 * - a thrown Error: retried with per-key exponential backoff; Ready=False with reason `ReconcileError`
 *   (or the error's `code` in CamelCase: `DOCKER_UNAVAILABLE` → `DockerUnavailable`) and the message;
 *   a Warning event. A deadline that passes gives reason `ReconcileTimeout`.
 * - a TerminalError (also when found in the `cause` chain): never retried; Stalled=True and
 *   Ready=False with its reason; a Warning event. The next spec change or resync tries again.
 * - a thrown non-Error: like an Error with reason `ReconcilePanic`, and counted as a panic.
 * The manager writes conditions only for failures; on success the reconciler owns Ready. No status
 * is written for an object that is gone or whose spec changed during the reconcile (the key is queued
 * again and the next reconcile reports on the new spec).
 */
export class ControllerManager {
  /** recorder holds the events the manager and reconcilers record. */
  readonly recorder: ManagedEventRecorder;
  private readonly store: ResourceStore;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly now: () => Date;
  private readonly shutdownGraceMs: number;
  private readonly abandonGraceMs: number;
  private readonly controllers = new Map<string, RunningController>();
  // Every running reconcile listens on this one signal; with many workers that is more than
  // EventTarget's default of 10 listeners, which is expected here, not a leak (each is removed).
  private readonly stopController = withUnlimitedListeners(new AbortController());
  private state: 'new' | 'started' | 'stopped' = 'new';
  private unwatch: (() => void) | undefined;
  private stopping: Promise<void> | undefined;

  constructor(opts: ControllerManagerOptions) {
    this.store = opts.store;
    this.log = opts.logger;
    this.metrics = opts.metrics;
    this.now = opts.now ?? (() => new Date());
    this.recorder = opts.recorder ?? new MemoryEventRecorder({ now: this.now });
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 10_000;
    this.abandonGraceMs = opts.abandonGraceMs ?? 1_000;
  }

  /** add registers a controller; added after start(), it starts at once. Names must be unique. */
  add(options: ControllerOptions, reconciler: Reconciler): Controller {
    if (this.state === 'stopped') throw new Error(`cannot add controller ${options.name}: the manager has stopped`);
    if (this.controllers.has(options.name)) throw new Error(`a controller named ${options.name} already exists`);
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`controller ${options.name}: concurrency must be a positive integer`);
    const queue = new WorkQueue({
      backoffBaseMs: options.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs,
      metrics: this.metrics?.workQueue(options.name),
    });
    const controller: RunningController = {
      name: options.name,
      kind: options.kind,
      queue,
      reconciler,
      concurrency,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      resyncMs: options.resyncMs ?? DEFAULT_RESYNC_MS,
      log: this.log.child({ controller: options.name }),
      workers: [],
      resyncTimer: undefined,
      active: 0,
      enqueue(key) {
        parseResourceKey(key);
        queue.add(key);
      },
      enqueueAfter(key, ms) {
        parseResourceKey(key);
        queue.addAfter(key, ms);
      },
    };
    this.controllers.set(options.name, controller);
    if (this.state === 'started') this.run(controller);
    return controller;
  }

  /** start subscribes to the store, enqueues every existing object of each controller's kind and starts the workers. */
  start(): void {
    if (this.state === 'started') return;
    if (this.state === 'stopped') throw new Error('a stopped controller manager cannot be started again');
    this.state = 'started';
    // Status-only writes (specChanged false) are the controllers' own output; reacting to them would loop.
    this.unwatch = this.store.watch((event) => {
      if (!event.specChanged) return;
      for (const c of this.controllers.values()) if (c.kind === event.kind) c.queue.add(event.key);
    });
    for (const c of this.controllers.values()) this.run(c);
  }

  /**
   * stop stops taking work (the store subscription, resync and queues end at once), lets in-flight
   * reconciles finish for up to shutdownGraceMs, then aborts their signals and waits for the workers.
   * It resolves when every worker has returned; calling it again returns the same promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopped';
    this.unwatch?.();
    this.unwatch = undefined;
    for (const c of this.controllers.values()) {
      clearInterval(c.resyncTimer);
      c.queue.shutDown();
    }
    const workers = Promise.all([...this.controllers.values()].flatMap((c) => c.workers));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), this.shutdownGraceMs);
    });
    const timedOut = await Promise.race([workers.then(() => false), graceOver]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn('in-flight reconciles did not finish within the shutdown grace period; aborting them', { graceMs: this.shutdownGraceMs });
    }
    this.stopController.abort(new Error('the controller manager is stopping'));
    await workers;
  }

  private run(c: RunningController): void {
    for (const o of this.store.list(c.kind)) c.queue.add(resourceKey(o.kind, o.metadata.name));
    for (let i = 0; i < c.concurrency; i++) c.workers.push(this.worker(c));
    if (c.resyncMs > 0) {
      c.resyncTimer = setInterval(() => {
        for (const o of this.store.list(c.kind)) c.queue.add(resourceKey(o.kind, o.metadata.name));
      }, c.resyncMs);
      c.resyncTimer.unref();
    }
  }

  private async worker(c: RunningController): Promise<void> {
    for (;;) {
      // A reconcile that settles without I/O and a key that keeps coming back would otherwise chain
      // promises forever and starve timers, I/O and stop(); one macrotask turn per key prevents that.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const key = await c.queue.get();
      if (key === undefined) return;
      c.active += 1;
      this.metrics?.activeWorkers(c.name, c.active);
      try {
        await this.processOne(c, key);
      } catch (err) {
        // Only a bug in the runtime itself (or a throwing metrics hook) gets here; the worker must survive
        // it. processOne has already released the key (or left it busy for an abandoned call).
        c.log.error('controller runtime failed while handling a reconcile', { key, error: describe(err) });
      } finally {
        c.active -= 1;
        this.metrics?.activeWorkers(c.name, c.active);
      }
    }
  }

  private async processOne(c: RunningController, key: string): Promise<void> {
    const before = this.store.getByKey(key);
    // One AbortController per reconcile, aborted by the deadline or by stop(). Not AbortSignal.any(): on
    // Node 20 it leaves a trace on the long-lived stop signal for every call (measured ~60 bytes per
    // reconcile that is never reclaimed); a listener removed in the end is leak-free.
    const aborter = new AbortController();
    const signal = aborter.signal;
    let deadlinePassed = false;
    const deadlineTimer = setTimeout(() => {
      deadlinePassed = true;
      aborter.abort(new DOMException(`reconcile deadline of ${c.timeoutMs} ms passed`, 'TimeoutError'));
    }, c.timeoutMs);
    deadlineTimer.unref();
    const stopSignal = this.stopController.signal;
    const onStop = () => aborter.abort(stopSignal.reason);
    if (stopSignal.aborted) onStop();
    else stopSignal.addEventListener('abort', onStop, { once: true });
    const started = performance.now();

    const settled: Promise<Outcome> = Promise.resolve()
      .then(() => c.reconciler.reconcile(key, signal))
      .then(
        (result) => ({ ok: true as const, result: result ?? {} }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const abandon = afterAbort(signal, this.abandonGraceMs);
    const outcome = await Promise.race([settled, abandon.promise]);
    abandon.cancel();
    clearTimeout(deadlineTimer);
    stopSignal.removeEventListener('abort', onStop);
    const seconds = (performance.now() - started) / 1000;
    const abandoned = 'abandoned' in outcome;
    try {
      this.metrics?.reconcileTime(c.name, seconds);
      if (stopSignal.aborted && signal.aborted && !('ok' in outcome && outcome.ok)) {
        // Aborted by stop(): not the object's fault, so no condition, event or retry.
        c.log.debug('reconcile aborted by shutdown', { key });
        return;
      }
      if ('ok' in outcome && outcome.ok) {
        this.succeeded(c, key, outcome.result, seconds);
        return;
      }
      const failure = classify(abandoned ? undefined : (outcome as { error: unknown }).error, deadlinePassed, c.timeoutMs, abandoned);
      this.failed(c, key, before, failure);
    } finally {
      // An abandoned call may still be running: the key stays busy (and later adds wait) until it settles.
      if (abandoned) {
        c.log.warn('reconcile ignored its aborted signal; its key stays busy until the call returns', { key });
        void settled.then(() => c.queue.done(key));
      } else {
        c.queue.done(key);
      }
    }
  }

  private succeeded(c: RunningController, key: string, result: Result, seconds: number): void {
    const after = result.requeueAfterMs;
    if (after === undefined || !Number.isFinite(after)) {
      c.queue.forget(key);
      this.metrics?.reconcileTotal(c.name, 'success');
    } else if (after > 0) {
      c.queue.forget(key);
      c.queue.addAfter(key, after);
      this.metrics?.reconcileTotal(c.name, 'requeue_after');
    } else {
      c.queue.addRateLimited(key);
      this.metrics?.reconcileTotal(c.name, 'requeue');
    }
    if (!this.store.getByKey(key)) this.recorder.forget?.(key);
    c.log.debug('reconciled', { key, durationMs: Math.round(seconds * 1000), ...(after !== undefined ? { requeueAfterMs: after } : {}) });
  }

  private failed(c: RunningController, key: string, before: Resource | undefined, failure: Failure): void {
    this.metrics?.reconcileErrors(c.name);
    this.metrics?.reconcileTotal(c.name, 'error');
    if (failure.kind === 'panic') this.metrics?.reconcilePanics(c.name);
    if (failure.kind === 'terminal') this.metrics?.terminalErrors(c.name);

    const terminal = failure.kind === 'terminal';
    let retryInMs: number | undefined;
    if (terminal) c.queue.forget(key);
    else retryInMs = c.queue.addRateLimited(key);

    const current = this.store.getByKey(key);
    if (current) {
      this.recorder.record(key, 'Warning', failure.reason, failure.message);
      const sameObject = before !== undefined && before.metadata.uid === current.metadata.uid && before.metadata.generation === current.metadata.generation;
      if (sameObject) {
        const patch = beginStatus(this.store, key, { now: this.now });
        if (patch) {
          if (terminal) markStalled(patch.status, failure.reason, failure.message, patch);
          else markNotReady(patch.status, failure.reason, failure.message, patch);
          patch.commit();
        }
      }
    }
    c.log.error(terminal ? 'reconcile failed permanently; the object is stalled until its spec changes' : 'reconcile failed; retrying with backoff', {
      key,
      reason: failure.reason,
      error: failure.message,
      ...(retryInMs !== undefined ? { retryInMs, requeues: c.queue.numRequeues(key) } : {}),
    });
  }
}

function classify(error: unknown, deadlinePassed: boolean, timeoutMs: number, abandoned: boolean): Failure {
  const terminal = findTerminal(error);
  if (terminal) return { kind: 'terminal', reason: terminal.reason, message: clip(messageOf(error)) };
  if (deadlinePassed) {
    const suffix = abandoned ? '; it ignored the abort and may still be running' : '';
    return { kind: 'timeout', reason: ConditionReason.ReconcileTimeout, message: `reconcile did not finish within ${timeoutMs} ms${suffix}` };
  }
  if (error instanceof Error) {
    return { kind: 'error', reason: reasonFromCode((error as { code?: unknown }).code) ?? ConditionReason.ReconcileError, message: clip(messageOf(error)) };
  }
  return { kind: 'panic', reason: ConditionReason.ReconcilePanic, message: clip(`reconcile threw a non-Error value: ${describe(error)}`) };
}

function findTerminal(error: unknown): TerminalError | undefined {
  let e = error;
  // The depth bound guards against a cause cycle.
  for (let depth = 0; depth < 16 && e instanceof Error; depth++) {
    if (e instanceof TerminalError) return e;
    e = e.cause;
  }
  return undefined;
}

/** reasonFromCode turns a stable error code into a condition reason: `DOCKER_UNAVAILABLE` → `DockerUnavailable`. */
function reasonFromCode(code: unknown): string | undefined {
  if (typeof code !== 'string' || !/^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$/.test(code)) return undefined;
  return code
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1).toLowerCase())
    .join('');
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return describe(error);
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function clip(message: string): string {
  return message.length > MAX_CONDITION_MESSAGE ? `${message.slice(0, MAX_CONDITION_MESSAGE - 1)}…` : message;
}

/** afterAbort resolves `graceMs` after `signal` aborts; cancel() releases the listener and timer once the reconcile settled. */
function afterAbort(signal: AbortSignal, graceMs: number): { promise: Promise<{ abandoned: true }>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: () => void = () => {};
  const promise = new Promise<{ abandoned: true }>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve({ abandoned: true }), graceMs);
    };
  });
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    promise,
    cancel() {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    },
  };
}

function withUnlimitedListeners(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}
