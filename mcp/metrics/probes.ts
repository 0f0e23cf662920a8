// HealthProbes like the blackbox exporter's probe_* metrics: success, duration, plus the failure
// streak and the time of the last probe, read from each probe's status.

import type { Registry } from 'prom-client';
import { SnapshotMetric } from './snapshot-metric.ts';
import { finiteNumber, specOf, statusOf, timestampSeconds, type StoreReader } from './status-fields.ts';

const PROBE_TYPES = ['http', 'tcp', 'dns', 'tls', 'exec', 'container'] as const;

/** registerProbeMetrics adds the systemmanager_probe_* metrics. */
export function registerProbeMetrics(registry: Registry, store: StoreReader): void {
  const success: SnapshotMetric<'name' | 'type'> = new SnapshotMetric({
    type: 'gauge',
    name: 'systemmanager_probe_success',
    help: 'Whether the last run of a HealthProbe succeeded (1) or failed (0).',
    labelNames: ['name', 'type'],
    registry,
    collect() {
      success.reset();
      duration.reset();
      failures.reset();
      last.reset();
      expiry.reset();
      for (const p of store.list('HealthProbe')) {
        const s = statusOf(p);
        if (typeof s.success !== 'boolean') continue; // never probed yet
        const name = p.metadata.name;
        const spec = specOf(p);
        const type = PROBE_TYPES.find((t) => spec[t] !== undefined) ?? 'unknown';
        success.set({ name, type }, s.success ? 1 : 0);
        const latency = finiteNumber(s.latencySeconds);
        if (latency !== undefined) duration.set({ name }, latency);
        const f = finiteNumber(s.consecutiveFailures);
        if (f !== undefined) failures.set({ name }, f);
        const at = timestampSeconds(s.lastProbeTime);
        if (at !== undefined) last.set({ name }, at);
        const days = finiteNumber(s.daysUntilExpiry);
        if (days !== undefined && at !== undefined) expiry.set({ name }, at + days * 86_400);
      }
    },
  });
  const duration = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_probe_duration_seconds', help: 'How long the last run of a HealthProbe took.', labelNames: ['name'], registry });
  const failures = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_probe_consecutive_failures', help: 'Failed runs of a HealthProbe in a row.', labelNames: ['name'], registry });
  const last = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_probe_last_run_timestamp_seconds', help: 'When a HealthProbe last ran, in Unix seconds.', labelNames: ['name'], registry });
  const expiry = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_probe_tls_cert_expiry_timestamp_seconds', help: 'When the certificate a TLS HealthProbe saw expires, in Unix seconds (like probe_ssl_earliest_cert_expiry).', labelNames: ['name'], registry });
}
