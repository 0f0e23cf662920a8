// Condition helpers after fluxcd/pkg runtime/conditions, with the kstatus conventions: `Ready` is the
// summary ("normal-true"), `Reconciling` and `Stalled` are "abnormal-true" and are present only while
// they hold. The helpers change the mutable status copy a reconciler got from beginStatus(); nothing
// here writes to the store.

import type { Condition, ConditionStatus, Resource, ResourceStatus } from '../../resources/types.ts';

/** ConditionType names the conditions every kind shares. */
export const ConditionType = {
  /** Ready: the object's desired state is in effect (True), is not and why (False), or is being worked on (Unknown). */
  Ready: 'Ready',
  /** Reconciling: work toward the desired state is in progress. */
  Reconciling: 'Reconciling',
  /** Stalled: the object cannot make progress without a change to its spec (a TerminalError). */
  Stalled: 'Stalled',
} as const;

/** ConditionReason names the reasons the runtime itself writes; reconcilers add their own. */
export const ConditionReason = {
  /** ReconcileError: a reconcile threw an error without a code; it is retried with backoff. */
  ReconcileError: 'ReconcileError',
  /** ReconcileTimeout: a reconcile passed its deadline; it is retried with backoff. */
  ReconcileTimeout: 'ReconcileTimeout',
  /** ReconcilePanic: a reconcile threw something that is not an Error (a bug); it is retried with backoff. */
  ReconcilePanic: 'ReconcilePanic',
} as const;

/** ConditionInput is what a caller decides about a condition; times and generations are filled in. */
export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
}

/**
 * ConditionContext carries the generation the condition describes (normally the object's generation
 * when the reconcile began) and the clock. A StatusPatch from beginStatus() is a ConditionContext.
 */
export interface ConditionContext {
  generation?: number;
  now?: () => Date;
}

/**
 * setCondition adds or updates the condition of `input.type` in `status.conditions`, with the
 * semantics of Kubernetes' `meta.SetStatusCondition`:
 * - a new condition gets `lastTransitionTime` = now;
 * - an existing one gets a new `lastTransitionTime` only when its `status` flips; a change of reason,
 *   message or observedGeneration alone keeps the old time (so "Ready since" survives a reworded
 *   message). This is stricter than Flux, which also moves the time when reason or message change.
 * `observedGeneration` is set from `ctx.generation` (removed when none is given). It returns whether
 * anything changed.
 */
export function setCondition(status: ResourceStatus, input: ConditionInput, ctx: ConditionContext = {}): boolean {
  const conditions = (status.conditions ??= []);
  const now = () => (ctx.now ?? (() => new Date()))().toISOString();
  const existing = conditions.find((c) => c.type === input.type);
  if (!existing) {
    const condition: Condition = { type: input.type, status: input.status, reason: input.reason, lastTransitionTime: now() };
    if (input.message !== undefined && input.message !== '') condition.message = input.message;
    if (ctx.generation !== undefined) condition.observedGeneration = ctx.generation;
    conditions.push(condition);
    return true;
  }
  let changed = false;
  if (existing.status !== input.status) {
    existing.status = input.status;
    existing.lastTransitionTime = now();
    changed = true;
  }
  if (existing.reason !== input.reason) {
    existing.reason = input.reason;
    changed = true;
  }
  // An empty message and no message are the same to a reader; storing both would flap the status.
  const message = input.message === '' ? undefined : input.message;
  if (existing.message !== message) {
    if (message === undefined) delete existing.message;
    else existing.message = message;
    changed = true;
  }
  if (existing.observedGeneration !== ctx.generation) {
    if (ctx.generation === undefined) delete existing.observedGeneration;
    else existing.observedGeneration = ctx.generation;
    changed = true;
  }
  return changed;
}

/** getCondition returns the condition of that type, if present. */
export function getCondition(status: ResourceStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** clearCondition removes the condition of that type; it returns whether one was there. */
export function clearCondition(status: ResourceStatus, type: string): boolean {
  const conditions = status.conditions;
  if (!conditions) return false;
  const i = conditions.findIndex((c) => c.type === type);
  if (i < 0) return false;
  conditions.splice(i, 1);
  if (conditions.length === 0) delete status.conditions;
  return true;
}

/** markReady sets Ready=True and, as kstatus requires of a Ready object, removes Reconciling and Stalled. */
export function markReady(status: ResourceStatus, reason: string, message: string, ctx: ConditionContext = {}): boolean {
  let changed = setCondition(status, { type: ConditionType.Ready, status: 'True', reason, message }, ctx);
  changed = clearCondition(status, ConditionType.Reconciling) || changed;
  changed = clearCondition(status, ConditionType.Stalled) || changed;
  return changed;
}

/**
 * markNotReady sets Ready=False. It removes Stalled, because a failure that is retried is not a stall;
 * Reconciling is left as the reconciler set it (a retry may well still be in progress).
 */
export function markNotReady(status: ResourceStatus, reason: string, message: string, ctx: ConditionContext = {}): boolean {
  let changed = setCondition(status, { type: ConditionType.Ready, status: 'False', reason, message }, ctx);
  changed = clearCondition(status, ConditionType.Stalled) || changed;
  return changed;
}

/** markReconciling sets Reconciling=True and Ready=Unknown with the same reason and message, and removes Stalled. */
export function markReconciling(status: ResourceStatus, reason: string, message: string, ctx: ConditionContext = {}): boolean {
  let changed = setCondition(status, { type: ConditionType.Reconciling, status: 'True', reason, message }, ctx);
  changed = setCondition(status, { type: ConditionType.Ready, status: 'Unknown', reason, message }, ctx) || changed;
  changed = clearCondition(status, ConditionType.Stalled) || changed;
  return changed;
}

/** markStalled sets Stalled=True and Ready=False with the same reason and message, and removes Reconciling (no work is in progress). */
export function markStalled(status: ResourceStatus, reason: string, message: string, ctx: ConditionContext = {}): boolean {
  let changed = setCondition(status, { type: ConditionType.Stalled, status: 'True', reason, message }, ctx);
  changed = setCondition(status, { type: ConditionType.Ready, status: 'False', reason, message }, ctx) || changed;
  changed = clearCondition(status, ConditionType.Reconciling) || changed;
  return changed;
}

/**
 * isReady tells whether an object is Ready for its current spec: Ready=True and the status has
 * observed the object's current generation (a Ready written for an older spec does not count).
 */
export function isReady(resource: Pick<Resource, 'metadata' | 'status'>): boolean {
  const ready = getCondition(resource.status, ConditionType.Ready);
  if (ready?.status !== 'True') return false;
  const observed = resource.status?.observedGeneration ?? ready.observedGeneration;
  return observed === undefined || observed === resource.metadata.generation;
}
