// The OutputPreference reconciler: reports which known agents a preference reaches
// (status.matchedAgents) and whether it ties with another preference that wants a different format
// (a `Conflict` condition naming the others). The format decision itself is the resolver's.

import { parseResourceKey } from '../../resources/kinds.ts';
import type { ResourceStore } from '../../resources/store.ts';
import {
  beginStatus,
  clearCondition,
  ConditionType,
  markNotReady,
  markReady,
  setCondition,
  type Reconciler,
  type Result,
} from '../runtime/index.ts';
import { canTie, compilePreference, DEFAULT_OUTPUT_FORMAT, type OutputPreferenceResolver, type OutputPreferenceSpec } from './resolver.ts';

/** OutputPreferenceReason names the reasons this controller writes. */
export const OutputPreferenceReason = {
  Active: 'Active',
  Conflict: 'Conflict',
  TiedPreference: 'TiedPreference',
  Suspended: 'Suspended',
  HostNotSelected: 'HostNotSelected',
} as const;

/** CONFLICT_CONDITION is the abnormal-true condition on preferences that tie with a different format. */
export const CONFLICT_CONDITION = 'Conflict';

/** MAX_MATCHED_AGENTS is the schema's bound on status.matchedAgents. */
export const MAX_MATCHED_AGENTS = 1024;

/** OutputPreferenceReconcilerOptions configure an OutputPreferenceReconciler. */
export interface OutputPreferenceReconcilerOptions {
  store: ResourceStore;
  resolver: OutputPreferenceResolver;
  /** agents: the known agents (default: the agents of the AccessTokens in the store). */
  agents?: () => readonly string[];
  now?: () => Date;
}

/** OutputPreferenceReconciler writes the status of OutputPreference resources. */
export class OutputPreferenceReconciler implements Reconciler {
  private readonly store: ResourceStore;
  private readonly resolver: OutputPreferenceResolver;
  private readonly agents: () => readonly string[];
  private readonly now: (() => Date) | undefined;

  constructor(opts: OutputPreferenceReconcilerOptions) {
    this.store = opts.store;
    this.resolver = opts.resolver;
    this.agents = opts.agents ?? (() => tokenAgents(opts.store));
    this.now = opts.now;
  }

  async reconcile(key: string): Promise<Result> {
    const { name } = parseResourceKey(key);
    const patch = beginStatus(this.store, key, this.now ? { now: this.now } : {});
    if (!patch) return {};
    const st = patch.status;
    const spec = patch.object.spec as unknown as OutputPreferenceSpec;
    const self = compilePreference(patch.object);
    const agents = [...new Set(this.agents())].filter((a) => !self.agents || self.agents.has(a)).sort();
    st.matchedAgents = agents.slice(0, MAX_MATCHED_AGENTS);

    if (!this.resolver.inForce(patch.object)) {
      clearCondition(st, CONFLICT_CONDITION);
      clearCondition(st, ConditionType.Reconciling);
      clearCondition(st, ConditionType.Stalled);
      const suspended = spec.suspend === true;
      setCondition(
        st,
        {
          type: ConditionType.Ready,
          status: suspended ? 'Unknown' : 'True',
          reason: suspended ? OutputPreferenceReason.Suspended : OutputPreferenceReason.HostNotSelected,
          message: suspended ? 'spec.suspend is true: this preference is not applied' : "spec.hostSelector does not match this host's labels: not applied here",
        },
        patch,
      );
      patch.commit();
      return {};
    }

    const rivals = this.resolver
      .preferences()
      .filter((p) => p.name !== name && p.format !== self.format && canTie(self, p))
      .map((p) => `OutputPreference/${p.name} (${p.format})`);
    if (rivals.length) {
      const message = `ties with ${rivals.join(', ')} at the same specificity; calls both match get ${DEFAULT_OUTPUT_FORMAT}. Narrow a selector or agree on a format`;
      setCondition(st, { type: CONFLICT_CONDITION, status: 'True', reason: OutputPreferenceReason.TiedPreference, message }, patch);
      markNotReady(st, OutputPreferenceReason.Conflict, message, patch);
    } else {
      clearCondition(st, CONFLICT_CONDITION);
      markReady(st, OutputPreferenceReason.Active, `${self.format} for ${describeSelector(spec)}`, patch);
    }
    patch.commit();
    return {};
  }
}

/** tokenAgents lists the distinct agents of the AccessTokens in the store. */
export function tokenAgents(store: ResourceStore): string[] {
  const agents = new Set<string>();
  for (const o of store.list('AccessToken')) {
    const agent = (o.spec as { agent?: unknown }).agent;
    if (typeof agent === 'string') agents.add(agent);
  }
  return [...agents].sort();
}

function describeSelector(spec: OutputPreferenceSpec): string {
  const agents = spec.selector?.agents?.length ? `agents ${spec.selector.agents.join(', ')}` : undefined;
  const tools = spec.selector?.tools?.length ? `tools ${spec.selector.tools.join(', ')}` : undefined;
  return [agents, tools].filter(Boolean).join(' and ') || 'every call';
}
