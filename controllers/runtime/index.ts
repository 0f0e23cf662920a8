// The controller runtime: the contracts reconcilers are written against (Reconciler, Result,
// TerminalError), the work queue, the manager that runs controllers against the store, and the
// helpers for conditions, status patches and events. Controllers in sibling folders import this
// folder and resources/; this folder imports only resources/ and node builtins, never mcp/ and no
// metrics library (metrics arrive through the WorkQueueMetrics and ControllerMetrics interfaces).

export { TerminalError } from './contracts.ts';
export type { ControllerOptions, EventRecorder, EventType, RecordedEvent, Reconciler, Result } from './contracts.ts';
export {
  clearCondition,
  ConditionReason,
  ConditionType,
  getCondition,
  isReady,
  markNotReady,
  markReady,
  markReconciling,
  markStalled,
  setCondition,
} from './conditions.ts';
export type { ConditionContext, ConditionInput } from './conditions.ts';
export { MemoryEventRecorder } from './events.ts';
export type { MemoryEventRecorderOptions } from './events.ts';
export {
  ControllerManager,
  DEFAULT_CONCURRENCY,
  DEFAULT_RESYNC_MS,
  DEFAULT_TIMEOUT_MS,
  MAX_CONDITION_MESSAGE,
} from './manager.ts';
export type { Controller, ControllerManagerOptions, ControllerMetrics, ManagedEventRecorder, ReconcileResultLabel } from './manager.ts';
export { beginStatus } from './status.ts';
export type { StatusPatch } from './status.ts';
export { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, WorkQueue } from './workqueue.ts';
export type { WorkQueueMetrics, WorkQueueOptions } from './workqueue.ts';
