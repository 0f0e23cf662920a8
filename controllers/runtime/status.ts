// Writing status the Flux way: take a copy at the start of a reconcile, change the copy freely, and
// write once at the end as a patch against the copy. Only what this reconcile changed is applied to
// the stored status, so a concurrent writer's other fields and conditions survive.

import { deepEqual } from '../../resources/canonical.ts';
import { parseResourceKey } from '../../resources/kinds.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Condition, Resource, ResourceStatus } from '../../resources/types.ts';
import type { ConditionContext } from './conditions.ts';

/**
 * StatusPatch is one reconcile's pending status change. It is also a ConditionContext, so it can be
 * passed straight to the condition helpers: `markReady(patch.status, 'Running', '...', patch)`.
 */
export interface StatusPatch extends ConditionContext {
  /** object: the stored object as it was at begin (frozen). */
  readonly object: Resource;
  /** status: a mutable deep copy of the object's status; change it, then commit(). */
  readonly status: ResourceStatus;
  /** generation: the object's generation at begin; the one this reconcile acted on. */
  readonly generation: number;
  readonly now: () => Date;
  /**
   * commit writes what changed in `status` since begin (or since the last commit) onto the stored
   * status, with `observedGeneration` = `generation`. It writes nothing when nothing would change,
   * and returns undefined without throwing when the object was deleted (or deleted and re-created)
   * meanwhile. The write is status-only: it never bumps generation and never re-triggers the controller.
   */
  commit(): Resource | undefined;
}

/** beginStatus starts a status patch for `Kind/name`; undefined when the object does not exist. */
export function beginStatus(store: ResourceStore, key: string, opts: { now?: () => Date } = {}): StatusPatch | undefined {
  const object = store.getByKey(key);
  if (!object) return undefined;
  const { kind, name } = parseResourceKey(key);
  const generation = object.metadata.generation;
  const uid = object.metadata.uid;
  let base: ResourceStatus = structuredClone(object.status ?? {}) as ResourceStatus;
  const status: ResourceStatus = structuredClone(base);
  return {
    object,
    status,
    generation,
    now: opts.now ?? (() => new Date()),
    commit() {
      const current = store.getByKey(key);
      if (!current || current.metadata.uid !== uid) return undefined;
      const merged = applyPatch((current.status ?? {}) as ResourceStatus, base, status);
      merged.observedGeneration = generation;
      base = structuredClone(status);
      if (deepEqual(merged, current.status ?? {})) return current;
      return store.updateStatus(kind, name, merged);
    },
  };
}

/** applyPatch applies the changes from `before` to `after` onto a copy of `current`, field by field and condition by condition. */
function applyPatch(current: ResourceStatus, before: ResourceStatus, after: ResourceStatus): ResourceStatus {
  const out = structuredClone(current) as ResourceStatus;
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]);
  fields.delete('conditions');
  fields.delete('observedGeneration');
  for (const field of fields) {
    if (deepEqual(before[field], after[field])) continue;
    if (after[field] === undefined) delete out[field];
    else out[field] = structuredClone(after[field]);
  }

  const types = new Set([...(before.conditions ?? []), ...(after.conditions ?? [])].map((c) => c.type));
  let conditions: Condition[] = [...(out.conditions ?? [])];
  for (const type of types) {
    const was = before.conditions?.find((c) => c.type === type);
    const now = after.conditions?.find((c) => c.type === type);
    if (deepEqual(was, now)) continue;
    if (!now) {
      conditions = conditions.filter((c) => c.type !== type);
      continue;
    }
    const i = conditions.findIndex((c) => c.type === type);
    if (i >= 0) conditions[i] = structuredClone(now);
    else conditions.push(structuredClone(now));
  }
  if (conditions.length > 0) out.conditions = conditions;
  else delete out.conditions;
  return out;
}
