// The small contracts every controller is written against (after controller-runtime's
// reconcile package): a Reconciler, its Result, and TerminalError. The manager, the work queue and
// the metrics hooks live beside this file and are the runtime's own business.

import type { KindName } from '../../resources/kinds.ts';

/**
 * Result tells the runtime what to do after a successful reconcile: nothing (the key is forgotten
 * until an event or the periodic resync brings it back) or look again after `requeueAfterMs`.
 */
export interface Result {
  requeueAfterMs?: number;
}

/**
 * Reconciler converges one object. `reconcile` reads desired and observed state fresh every time
 * and must be safe to call any number of times (level-triggered). A thrown error is retried with
 * per-key exponential backoff; a TerminalError is never retried and the object is marked Stalled.
 * `signal` aborts when the per-reconcile deadline passes or the manager stops.
 */
export interface Reconciler {
  reconcile(key: string, signal: AbortSignal): Promise<Result>;
}

/** TerminalError is a failure retrying cannot fix (a spec that can never work); `reason` is CamelCase for the Stalled condition. */
export class TerminalError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.name = 'TerminalError';
  }
}

/** ControllerOptions configure one controller in the manager. */
export interface ControllerOptions {
  /** name: the controller's name, as in metrics' `controller` label (e.g. `container`). */
  name: string;
  /** kind: the kind whose store events (spec changes only) enqueue `Kind/name` keys. */
  kind: KindName;
  /** concurrency: reconciles of this controller running at once (default 2). */
  concurrency?: number;
  /** timeoutMs: the deadline of one reconcile (default 60 s). */
  timeoutMs?: number;
  /** resyncMs: every key of the kind is enqueued this often to catch drift that emits no event (default 5 min; 0 turns it off). */
  resyncMs?: number;
  /** backoffBaseMs/backoffMaxMs: per-key exponential backoff for errors (defaults 100 ms and 5 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** EventType follows Kubernetes events. */
export type EventType = 'Normal' | 'Warning';

/** RecordedEvent is one event about an object, as `describe` shows it; repeats are counted, not duplicated. */
export interface RecordedEvent {
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

/** EventRecorder keeps recent events per object key. */
export interface EventRecorder {
  record(key: string, type: EventType, reason: string, message: string): void;
  list(key: string): RecordedEvent[];
}
