// Per-resource gauges read from the store at scrape time, after Flux's gotk_reconcile_condition:
// one series per condition and status value (1 for the current status, 0 for the other two), so
// `systemmanager_resource_condition{type="Ready",status="False"} == 1` finds every broken object.
// A deleted object's series vanish with the next scrape because every collect starts from empty.

import type { Registry } from 'prom-client';
import { KIND_NAMES, KINDS, type KindName } from '../../resources/kinds.ts';
import { kindSchema } from '../../resources/validation.ts';
import { SnapshotMetric } from './snapshot-metric.ts';
import { finiteNumber, specOf, type StoreReader } from './status-fields.ts';

const STATUSES = ['True', 'False', 'Unknown'] as const;

/** suspendableKinds lists the kinds whose schema has `spec.suspend`. */
export function suspendableKinds(): ReadonlySet<KindName> {
  const out = new Set<KindName>();
  for (const kind of KIND_NAMES) {
    let spec: { properties?: Record<string, unknown> } | undefined;
    try {
      spec = kindSchema(kind, '/$defs/spec') as typeof spec;
    } catch {
      continue; // a kind without a spec definition has nothing to suspend
    }
    if (spec?.properties && 'suspend' in spec.properties) out.add(kind);
  }
  return out;
}

/** registerResourceMetrics adds the condition, suspended, info and generation gauges of every stored object. */
export function registerResourceMetrics(registry: Registry, store: StoreReader): void {
  const suspendable = suspendableKinds();
  // One collect fills all five so a scrape walks the store once; the others have no collect of their
  // own. The registry reads metrics in registration order, so this one is registered first.
  const condition: SnapshotMetric<'kind' | 'name' | 'type' | 'status'> = new SnapshotMetric({
    type: 'gauge',
    name: 'systemmanager_resource_condition',
    help: 'The current condition status of a resource: 1 on the series whose status label matches, 0 on the others.',
    labelNames: ['kind', 'name', 'type', 'status'],
    registry,
    collect() {
      condition.reset();
      suspended.reset();
      info.reset();
      generation.reset();
      observed.reset();
      for (const o of store.list()) {
        const kind = o.kind;
        const name = o.metadata.name;
        info.set({ kind, name, storage: KINDS[kind]?.storage ?? 'manifests' }, 1);
        generation.set({ kind, name }, o.metadata.generation);
        const og = finiteNumber(o.status?.observedGeneration);
        if (og !== undefined) observed.set({ kind, name }, og);
        if (suspendable.has(kind)) suspended.set({ kind, name }, specOf(o).suspend === true ? 1 : 0);
        for (const c of o.status?.conditions ?? []) {
          if (typeof c?.type !== 'string') continue;
          for (const status of STATUSES) condition.set({ kind, name, type: c.type, status }, c.status === status ? 1 : 0);
        }
      }
    },
  });
  const suspended = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_resource_suspended', help: 'Whether spec.suspend is true (1) for a resource of a kind that can be suspended.', labelNames: ['kind', 'name'], registry });
  const info = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_resource_info', help: 'Every resource this agent manages (always 1); storage says whether git (manifests) or the server (state) owns its desired state.', labelNames: ['kind', 'name', 'storage'], registry });
  const generation = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_resource_generation', help: 'metadata.generation: bumped on every spec change.', labelNames: ['kind', 'name'], registry });
  const observed = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_resource_observed_generation', help: 'status.observedGeneration: the generation the controller last reported on; lagging generation means not yet reconciled.', labelNames: ['kind', 'name'], registry });
}
