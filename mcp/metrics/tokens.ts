// Token expiry, so an alert can warn a week before an agent's token stops working. Only the
// AccessToken's name and agent become labels; the token id and hash never do.

import type { Registry } from 'prom-client';
import { SnapshotMetric } from './snapshot-metric.ts';
import { specOf, stringField, timestampSeconds, type StoreReader } from './status-fields.ts';

const AGENT = /^[A-Za-z0-9._@-]{1,128}$/;

/** registerTokenMetrics adds systemmanager_token_expiry_timestamp_seconds and systemmanager_token_revoked. */
export function registerTokenMetrics(registry: Registry, store: StoreReader): void {
  const expiry: SnapshotMetric<'name' | 'agent'> = new SnapshotMetric({
    type: 'gauge',
    name: 'systemmanager_token_expiry_timestamp_seconds',
    help: 'When an AccessToken expires, in Unix seconds (tokens without expiresAt have no series).',
    labelNames: ['name', 'agent'],
    registry,
    collect() {
      expiry.reset();
      revoked.reset();
      for (const t of store.list('AccessToken')) {
        const spec = specOf(t);
        const name = t.metadata.name;
        const agentName = stringField(spec, 'agent');
        const agent = agentName && AGENT.test(agentName) ? agentName : '';
        revoked.set({ name, agent }, spec.revoked === true ? 1 : 0);
        const at = timestampSeconds(spec.expiresAt);
        if (at !== undefined) expiry.set({ name, agent }, at);
      }
    },
  });
  const revoked = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_token_revoked', help: 'Whether an AccessToken is revoked (1) or not (0).', labelNames: ['name', 'agent'], registry });
}
