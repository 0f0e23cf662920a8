// The proposal controller: Pending proposals become Expired at expiresAt and Stale as soon as a
// target's desired state moves. Proposal keys come from the manager (store events of kind Proposal,
// resync); changes to any other kind enqueue the Pending proposals that target it.

import { parseResourceKey, resourceKey } from '../../resources/kinds.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Reconciler, Result } from '../runtime/index.ts';
import type { ProposalService } from './service.ts';

/** ProposalReconciler asks the service to expire or mark stale one proposal, and requeues at its expiry. */
export class ProposalReconciler implements Reconciler {
  private readonly service: ProposalService;

  constructor(service: ProposalService) {
    this.service = service;
  }

  async reconcile(key: string): Promise<Result> {
    const { kind, name } = parseResourceKey(key);
    if (kind !== 'Proposal') return {};
    const wait = await this.service.refresh(name);
    // setTimeout tops out near 24.8 days; a longer wait is simply looked at again then.
    return wait === undefined ? {} : { requeueAfterMs: Math.min(Math.max(wait, 1), 2 ** 31 - 1) };
  }
}

/** watchTargets enqueues every Pending proposal that targets a resource whose desired state just moved. */
export function watchTargets(store: ResourceStore, service: ProposalService, enqueue: (key: string) => void): () => void {
  return store.watch((event) => {
    if (event.kind === 'Proposal' || !event.specChanged) return;
    for (const p of service.list({ phase: 'Pending' })) {
      if (service.targetsOf(p).includes(event.key)) enqueue(resourceKey('Proposal', p.metadata.name));
    }
  });
}
