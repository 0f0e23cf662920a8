// The probe controller: runs HealthProbes (http, tcp, dns, tls, exec, container) on their intervals
// and reports each in status and the Ready condition, with Kubernetes' failure and success
// thresholds. This folder imports resources/, controllers/runtime/ and the duration and label
// selector helpers of controllers/container/spec.ts, plus node builtins; nothing from mcp/.
// Files: spec.ts (types, schema defaults, the probe contract), one file per probe type, and
// reconciler.ts (scheduling, thresholds and status writes).

import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Labels } from '../../resources/types.ts';
import type { Controller, ControllerManager, EventRecorder } from '../runtime/index.ts';
import { ProbeReconciler, type ProbeReconcilerOptions } from './reconciler.ts';
import { MAX_TIMEOUT_MS } from './spec.ts';

export { DEFAULT_PROBERS, DEFAULT_STATUS_REFRESH_MS, ProbeReason, ProbeReconciler } from './reconciler.ts';
export type { Prober, ProbeReconcilerOptions, ProbeReport } from './reconciler.ts';
export { MAX_TIMEOUT_MS, MIN_INTERVAL_MS, PROBE_DEFAULTS, PROBE_TYPES, resolveProbe } from './spec.ts';
export type { HealthProbeSpec, ProbeContext, ProbeOutcome, ProbeType, ResolvedProbe } from './spec.ts';
export { HTTP_BODY_LIMIT, matchWithTimeLimit, probeHttp, REGEX_TIME_LIMIT_MS } from './http.ts';
export { probeTcp } from './tcp.ts';
export { probeDns } from './dns.ts';
export { probeTls } from './tls.ts';
export { EXEC_OUTPUT_LIMIT, probeExec } from './exec.ts';
export { probeContainer } from './container.ts';

/** DEFAULT_PROBE_CONCURRENCY is how many probes run at once unless the options say otherwise. */
export const DEFAULT_PROBE_CONCURRENCY = 16;

/** ProbeControllerOptions configure createProbeController. */
export interface ProbeControllerOptions extends Pick<ProbeReconcilerOptions, 'now' | 'monotonicNow' | 'statusRefreshMs' | 'jitter' | 'probers' | 'onResult'> {
  store: ResourceStore;
  logger?: Logger;
  /** recorder: where ProbeSucceeded/ProbeFailed events go (default the manager's recorder). */
  recorder?: EventRecorder;
  hostLabels?: () => Labels | undefined;
  /** concurrency: probes running at once, across all HealthProbes (default 16). */
  concurrency?: number;
}

/** ProbeController is the running probe controller. */
export interface ProbeController {
  readonly controller: Controller;
  readonly reconciler: ProbeReconciler;
}

/**
 * createProbeController registers the probe controller with `manager`. The controller's workers are
 * the probe concurrency bound; its deadline is above the longest probe timeout, so a probe's own
 * timeout, not the runtime's, ends a slow probe.
 */
export function createProbeController(manager: ControllerManager, opts: ProbeControllerOptions): ProbeController {
  const logger = (opts.logger ?? silentLogger).child({ controller: 'probe' });
  const reconciler = new ProbeReconciler({ ...opts, logger, recorder: opts.recorder ?? manager.recorder });
  const controller = manager.add(
    { name: 'probe', kind: 'HealthProbe', concurrency: opts.concurrency ?? DEFAULT_PROBE_CONCURRENCY, timeoutMs: MAX_TIMEOUT_MS + 10_000 },
    reconciler,
  );
  return { controller, reconciler };
}
