// Proposals by phase: every phase is always exported (0 when none), so "pending approvals" is a
// plain gauge query rather than an absent() dance.

import { Gauge, type Registry } from 'prom-client';
import { statusOf, stringField, type StoreReader } from './status-fields.ts';

/** PROPOSAL_PHASES are the phases of a Proposal (the schema's enum). */
export const PROPOSAL_PHASES = ['Pending', 'Approved', 'Rejected', 'Applied', 'Failed', 'Expired', 'Stale'] as const;

/** registerProposalMetrics adds systemmanager_proposals{phase}. */
export function registerProposalMetrics(registry: Registry, store: StoreReader): void {
  const proposals: Gauge<'phase'> = new Gauge({
    name: 'systemmanager_proposals',
    help: 'Proposals this agent holds, by phase.',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(PROPOSAL_PHASES.map((p) => [p, 0]));
      for (const p of store.list('Proposal')) {
        // A proposal the controller has not looked at yet is pending; an unknown phase is not a label.
        const phase = stringField(statusOf(p), 'phase') ?? 'Pending';
        if (counts.has(phase)) counts.set(phase, counts.get(phase)! + 1);
      }
      for (const [phase, n] of counts) proposals.set({ phase }, n);
    },
  });
}
