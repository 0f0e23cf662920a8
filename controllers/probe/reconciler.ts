// ProbeReconciler runs each HealthProbe on its own interval and keeps Ready as Kubernetes keeps a
// readiness probe: failureThreshold failures in a row make it False, successThreshold successes in a
// row make it True, anything in between leaves it as it was.
//
// Scheduling goes through the runtime: a reconcile that finds its probe not yet due returns
// `requeueAfterMs` with the time left, and one that ran the probe returns the time to the next due
// time (fixed rate: due + interval, with no catch-up burst after a stall). So the work queue gives
// what the issue asks for without a second scheduler: a key is never processed twice at once (no
// probe overlaps itself), and the controller's worker count bounds how many probes run together.
// A probe slower than its interval skips the slots it missed, as Go's time.Ticker drops ticks.
// Any extra reconcile (a resync, a status event) costs a map lookup, not a probe.
// test/bench/probes.bench.ts measures the lag this gives.
//
// Status writes: every result is kept in memory (latest()), but the store is written only when
// something a reader acts on changes (success, message, the Ready condition, a consecutive count that
// is still below its threshold) or when the last write is older than statusRefreshMs (default 60 s).
// 200 probes at 1 s that keep succeeding therefore cost about 3 writes a second instead of 200, and
// each written status is still one consistent snapshot: lastProbeTime, latency and counts describe
// the same probe. latest() and onResult give every probe to those who need all of them (metrics).

import { parseResourceKey } from '../../resources/kinds.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Labels, Resource, ResourceStatus } from '../../resources/types.ts';
import { selectorMatches } from '../container/spec.ts';
import {
  beginStatus,
  clearCondition,
  ConditionType,
  getCondition,
  markNotReady,
  markReady,
  setCondition,
  TerminalError,
  type EventRecorder,
  type Reconciler,
  type Result,
  type StatusPatch,
} from '../runtime/index.ts';
import { probeContainer } from './container.ts';
import { probeDns } from './dns.ts';
import { probeExec } from './exec.ts';
import { probeHttp } from './http.ts';
import { clipMessage, resolveProbe, type HealthProbeSpec, type ProbeContext, type ProbeOutcome, type ProbeType, type ResolvedProbe } from './spec.ts';
import { probeTcp } from './tcp.ts';
import { probeTls } from './tls.ts';

/** Prober runs one probe of one type; it reports a failing target in its outcome and does not throw. */
export type Prober = (spec: never, ctx: ProbeContext) => Promise<ProbeOutcome>;

/** DEFAULT_PROBERS are the real probes, one per type. */
export const DEFAULT_PROBERS: Readonly<Record<ProbeType, Prober>> = {
  http: probeHttp,
  tcp: probeTcp,
  dns: probeDns,
  tls: probeTls,
  exec: probeExec,
  container: probeContainer,
};

/** ProbeReason names the Ready reasons this controller writes. */
export const ProbeReason = {
  /** ProbeSucceeded: successThreshold probes in a row succeeded. */
  Succeeded: 'ProbeSucceeded',
  /** ProbeFailed: failureThreshold probes in a row failed. */
  Failed: 'ProbeFailed',
  /** Probing: not enough results in a row yet to decide (a new or changed probe). */
  Probing: 'Probing',
  /** Suspended: spec.suspend is true; nothing is probed. */
  Suspended: 'Suspended',
  /** HostNotSelected: spec.hostSelector does not match this host. */
  HostNotSelected: 'HostNotSelected',
} as const;

/** DEFAULT_STATUS_REFRESH_MS is the longest a stored status goes without a write while a probe keeps running. */
export const DEFAULT_STATUS_REFRESH_MS = 60_000;

/** ProbeReport is one probe's result, as latest() and onResult give it. */
export interface ProbeReport {
  /** key: `HealthProbe/<name>`. */
  key: string;
  name: string;
  type: ProbeType;
  success: boolean;
  message: string;
  latencySeconds: number;
  daysUntilExpiry?: number;
  /** probeTime: wall-clock start of the probe. */
  probeTime: Date;
  /** lagMs: how late the probe started against its due time (scheduling lag; 0 or more). */
  lagMs: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /** ready: the Ready status after this probe. */
  ready: 'True' | 'False' | 'Unknown';
  /** statusWritten: whether this probe's result was written to the store. */
  statusWritten: boolean;
}

/** ProbeReconcilerOptions configure a ProbeReconciler. */
export interface ProbeReconcilerOptions {
  store: ResourceStore;
  logger?: Logger;
  recorder?: EventRecorder;
  hostLabels?: () => Labels | undefined;
  /** now: the wall clock for lastProbeTime and condition times. */
  now?: () => Date;
  /** monotonicNow: the clock probes are scheduled by, in ms (default performance.now). */
  monotonicNow?: () => number;
  /** statusRefreshMs: the longest a running probe's stored status goes unwritten (default 60 s; 0 writes every probe). */
  statusRefreshMs?: number;
  /** jitter: a number in [0, 1) that places a new probe's schedule within its interval (default Math.random; 0.5 means no shift). */
  jitter?: () => number;
  /** probers: replaces probe types (unit tests). */
  probers?: Partial<Record<ProbeType, Prober>>;
  /** onResult: called after every probe (metrics, benchmarks). */
  onResult?: (report: ProbeReport) => void;
}

interface ProbeState {
  uid: string;
  generation: number;
  nextDueAt: number;
  successes: number;
  failures: number;
  ready: 'True' | 'False' | 'Unknown';
  lastWriteAt: number;
  /** phased: the schedule's offset within the interval is set (after the first probe, or restored). */
  phased: boolean;
  writtenSignature: string | undefined;
  last?: ProbeReport;
}

/** ProbeReconciler is the Reconciler of the HealthProbe kind. */
export class ProbeReconciler implements Reconciler {
  private readonly store: ResourceStore;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly mono: () => number;
  private readonly refreshMs: number;
  private readonly probers: Record<ProbeType, Prober>;
  private readonly jitter: () => number;
  private readonly states = new Map<string, ProbeState>();
  private readonly running = new Set<string>();

  constructor(private readonly opts: ProbeReconcilerOptions) {
    this.store = opts.store;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    this.mono = opts.monotonicNow ?? (() => performance.now());
    this.refreshMs = opts.statusRefreshMs ?? DEFAULT_STATUS_REFRESH_MS;
    this.probers = { ...DEFAULT_PROBERS, ...opts.probers };
    this.jitter = opts.jitter ?? Math.random;
  }

  /** latest returns the last probe's result of `HealthProbe/<name>`, including what was not written to the store. */
  latest(name: string): ProbeReport | undefined {
    return this.states.get(`HealthProbe/${name}`)?.last;
  }

  /** reconcile runs the probe when it is due and returns when to look again. */
  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const { kind, name } = parseResourceKey(key);
    if (kind !== 'HealthProbe') throw new TerminalError('WrongKind', `the probe controller cannot reconcile ${key}`);
    const object = this.store.getByKey(key);
    if (!object) {
      this.states.delete(key);
      return {};
    }
    const spec = object.spec as HealthProbeSpec;
    let probe: ResolvedProbe;
    try {
      probe = resolveProbe(spec);
    } catch (err) {
      this.states.delete(key);
      throw err;
    }
    if (this.idle(key, object, spec)) return {};

    const state = this.stateFor(key, object, probe);
    const wait = state.nextDueAt - this.mono();
    if (wait > 1) return { requeueAfterMs: Math.ceil(wait) };

    // The work queue already keeps a key from running twice; this guards the invariant the issue
    // names against a runtime that abandons a call which ignored its signal.
    if (this.running.has(key)) return { requeueAfterMs: probe.intervalMs };
    this.running.add(key);
    try {
      return await this.runProbe(key, name, object, probe, state, signal);
    } finally {
      this.running.delete(key);
    }
  }

  private async runProbe(key: string, name: string, object: Resource, probe: ResolvedProbe, state: ProbeState, signal: AbortSignal): Promise<Result> {
    const dueAt = state.nextDueAt;
    const probeTime = this.now();
    const started = this.mono();
    const probeSignal = AbortSignal.any([signal, AbortSignal.timeout(probe.timeoutMs)]);
    let outcome: ProbeOutcome;
    try {
      const prober = this.probers[probe.type] as (spec: unknown, ctx: ProbeContext) => Promise<ProbeOutcome>;
      outcome = await prober(probe.spec[probe.type], { signal: probeSignal, timeoutMs: probe.timeoutMs, store: this.store });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      this.log.warn('probe threw instead of reporting a failure', { key, error: err as Error });
      outcome = { success: false, message: `probe failed unexpectedly: ${(err as Error)?.message ?? String(err)}` };
    }
    // Stopping the controller is nobody's failure: record nothing.
    if (signal.aborted) throw signal.reason;
    const finished = this.mono();
    const latencySeconds = Math.round((finished - started) * 1000) / 1e6;

    if (outcome.success) {
      state.successes += 1;
      state.failures = 0;
    } else {
      state.failures += 1;
      state.successes = 0;
    }
    const before = state.ready;
    if (state.successes >= probe.successThreshold) state.ready = 'True';
    else if (state.failures >= probe.failureThreshold) state.ready = 'False';
    // Like a ticker that drops ticks: the next slot on this probe's grid after now, so a slow probe or
    // a stall neither shifts the phase nor fires the missed slots in a burst.
    // The first probe of a new spec runs at once; the grid after it is shifted by a random part of
    // half an interval either way (as Kubernetes' prober starts workers at a random offset), so
    // probes created together, say at start-up, do not stay in one burst every interval.
    const base = state.phased ? dueAt : dueAt + probe.intervalMs * (this.jitter() - 0.5);
    state.phased = true;
    state.nextDueAt = base + probe.intervalMs * Math.max(1, Math.ceil((finished - base) / probe.intervalMs));

    const message = clipMessage(outcome.message);
    const report: ProbeReport = {
      key,
      name,
      type: probe.type,
      success: outcome.success,
      message,
      latencySeconds,
      ...(outcome.daysUntilExpiry !== undefined ? { daysUntilExpiry: outcome.daysUntilExpiry } : {}),
      probeTime,
      lagMs: Math.max(0, started - dueAt),
      consecutiveSuccesses: state.successes,
      consecutiveFailures: state.failures,
      ready: state.ready,
      statusWritten: false,
    };
    state.last = report;
    if (before !== state.ready && state.ready !== 'Unknown') {
      this.opts.recorder?.record(key, state.ready === 'True' ? 'Normal' : 'Warning', state.ready === 'True' ? ProbeReason.Succeeded : ProbeReason.Failed, message);
    }

    const signature = JSON.stringify([
      object.metadata.generation,
      outcome.success,
      message,
      state.ready,
      Math.min(state.successes, probe.successThreshold),
      Math.min(state.failures, probe.failureThreshold),
    ]);
    if (signature !== state.writtenSignature || finished - state.lastWriteAt >= this.refreshMs) {
      report.statusWritten = this.writeStatus(key, object, probe, state, report);
      if (report.statusWritten) {
        state.writtenSignature = signature;
        state.lastWriteAt = finished;
      }
    }
    this.opts.onResult?.(report);
    return { requeueAfterMs: Math.max(1, Math.ceil(state.nextDueAt - this.mono())) };
  }

  private writeStatus(key: string, object: Resource, probe: ResolvedProbe, state: ProbeState, report: ProbeReport): boolean {
    const patch = beginStatus(this.store, key, { now: this.now });
    // A spec change during the probe: this result is for the old spec, and the change has queued the key again.
    if (!patch || patch.object.metadata.uid !== object.metadata.uid || patch.generation !== object.metadata.generation) return false;
    const st = patch.status;
    st.lastProbeTime = report.probeTime.toISOString();
    st.success = report.success;
    st.latencySeconds = report.latencySeconds;
    st.consecutiveFailures = report.consecutiveFailures;
    st.consecutiveSuccesses = report.consecutiveSuccesses;
    st.message = report.message;
    if (report.daysUntilExpiry !== undefined) st.daysUntilExpiry = report.daysUntilExpiry;
    else delete st.daysUntilExpiry;
    if (state.ready === 'True') markReady(st, ProbeReason.Succeeded, report.message, patch);
    else if (state.ready === 'False') markNotReady(st, ProbeReason.Failed, report.message, patch);
    else {
      const progress = report.success
        ? `${report.consecutiveSuccesses} of ${probe.successThreshold} successes in a row needed`
        : `${report.consecutiveFailures} of ${probe.failureThreshold} failures in a row before not ready`;
      markUnknown(st, ProbeReason.Probing, `${progress}; last: ${report.message}`, patch);
    }
    patch.commit();
    return true;
  }

  /** idle handles a probe this host must not run (hostSelector, suspend); it returns true when there is nothing to probe. */
  private idle(key: string, object: Resource, spec: HealthProbeSpec): boolean {
    let reason: string | undefined;
    let message = '';
    const labels = spec.hostSelector ? this.opts.hostLabels?.() : undefined;
    if (spec.hostSelector && labels && !selectorMatches(spec.hostSelector, labels)) {
      reason = ProbeReason.HostNotSelected;
      message = "spec.hostSelector does not match this host's labels: not probed here";
    } else if (spec.suspend) {
      reason = ProbeReason.Suspended;
      message = 'spec.suspend is true: not probing';
    }
    if (!reason) return false;
    this.states.delete(key);
    const patch = beginStatus(this.store, key, { now: this.now });
    if (patch && patch.object.metadata.uid === object.metadata.uid) {
      markUnknown(patch.status, reason, message, patch);
      patch.commit();
    }
    return true;
  }

  /** stateFor returns the in-memory schedule of a probe, starting one (from the stored status after a restart) when needed. */
  private stateFor(key: string, object: Resource, probe: ResolvedProbe): ProbeState {
    const existing = this.states.get(key);
    if (existing && existing.uid === object.metadata.uid && existing.generation === object.metadata.generation) return existing;
    const now = this.mono();
    const state: ProbeState = {
      uid: object.metadata.uid,
      generation: object.metadata.generation,
      nextDueAt: now,
      successes: 0,
      failures: 0,
      ready: 'Unknown',
      lastWriteAt: -Infinity,
      phased: false,
      writtenSignature: undefined,
    };
    const st = object.status;
    // After a restart, continue what the stored status says about this same spec: the counts, the
    // decided Ready, and the interval (no probe storm when the server comes back).
    if (!existing && st && st.observedGeneration === object.metadata.generation) restore(state, st, probe, now, this.now());
    this.states.set(key, state);
    return state;
  }
}

function restore(state: ProbeState, st: ResourceStatus, probe: ResolvedProbe, mono: number, wall: Date): void {
  if (typeof st.consecutiveSuccesses === 'number') state.successes = st.consecutiveSuccesses;
  if (typeof st.consecutiveFailures === 'number') state.failures = st.consecutiveFailures;
  const ready = getCondition(st, ConditionType.Ready);
  if (ready && ready.observedGeneration === state.generation && (ready.reason === ProbeReason.Succeeded || ready.reason === ProbeReason.Failed)) {
    state.ready = ready.status === 'True' ? 'True' : 'False';
  }
  const last = typeof st.lastProbeTime === 'string' ? Date.parse(st.lastProbeTime) : NaN;
  if (Number.isFinite(last)) {
    const untilDue = last + probe.intervalMs - wall.getTime();
    state.nextDueAt = mono + Math.min(Math.max(0, untilDue), probe.intervalMs);
    state.phased = true;
  }
}

/** markUnknown sets Ready=Unknown and clears Stalled and Reconciling: the probe is neither passing nor failing yet. */
function markUnknown(st: ResourceStatus, reason: string, message: string, patch: StatusPatch): void {
  setCondition(st, { type: ConditionType.Ready, status: 'Unknown', reason, message }, patch);
  clearCondition(st, ConditionType.Stalled);
  clearCondition(st, ConditionType.Reconciling);
}
