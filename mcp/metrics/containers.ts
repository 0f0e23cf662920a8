// Containers as the store knows them (state, health, restarts, image) and their CPU and memory from
// the container-stats sampler's cache. Only Containers in this agent's store appear, so a removed
// resource (or one another host is selected for) has no series.

import type { Registry } from 'prom-client';
import { SnapshotMetric } from './snapshot-metric.ts';
import type { ContainerUsage } from './container-stats.ts';
import type { BackgroundSampler } from './sampler.ts';
import { finiteNumber, specOf, statusOf, stringField, type StoreReader } from './status-fields.ts';

/** CONTAINER_STATES are the values of status.state (the schema's enum), each a series of systemmanager_container_state. */
export const CONTAINER_STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead', 'missing'] as const;
/** CONTAINER_HEALTH are the values of status.health. */
export const CONTAINER_HEALTH = ['none', 'starting', 'healthy', 'unhealthy'] as const;

/** ContainerMetricsOptions configure registerContainerMetrics. */
export interface ContainerMetricsOptions {
  store: StoreReader;
  stats?: Pick<BackgroundSampler<Map<string, ContainerUsage>>, 'value'>;
}

/** registerContainerMetrics adds the systemmanager_container_* metrics. */
export function registerContainerMetrics(registry: Registry, opts: ContainerMetricsOptions): void {
  const state: SnapshotMetric<'name' | 'state'> = new SnapshotMetric({
    type: 'gauge',
    name: 'systemmanager_container_state',
    help: 'The observed state of a managed container: 1 on the series of its current state, 0 on the others.',
    labelNames: ['name', 'state'],
    registry,
    collect() {
      state.reset();
      health.reset();
      restarts.reset();
      info.reset();
      cpu.reset();
      memory.reset();
      const usage = opts.stats?.value;
      for (const c of opts.store.list('Container')) {
        const name = c.metadata.name;
        const s = statusOf(c);
        const image = stringField(specOf(c), 'image');
        if (image !== undefined && image.length <= 512) info.set({ name, image }, 1);
        const current = stringField(s, 'state');
        if (current === undefined) continue; // not observed yet: no state is better than a wrong one
        for (const v of CONTAINER_STATES) state.set({ name, state: v }, v === current ? 1 : 0);
        const h = stringField(s, 'health');
        if (h !== undefined) for (const v of CONTAINER_HEALTH) health.set({ name, health: v }, v === h ? 1 : 0);
        const n = finiteNumber(s.restartCount);
        if (n !== undefined && n >= 0) restarts.set({ name }, n);
        const u = usage?.get(name);
        if (u && u.containerID === s.containerID && current === 'running') {
          cpu.set({ name }, u.cpuSeconds);
          memory.set({ name }, u.memoryBytes);
        }
      }
    },
  });
  const health = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_container_health', help: 'The Docker health of a managed container: 1 on the series of its current health, 0 on the others.', labelNames: ['name', 'health'], registry });
  const restarts = new SnapshotMetric({ type: 'counter', name: 'systemmanager_container_restarts_total', help: "Restarts of a managed container by Docker's restart policy (Docker's RestartCount).", labelNames: ['name'], registry });
  const info = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_container_info', help: 'The image a managed container is declared with (always 1).', labelNames: ['name', 'image'], registry });
  const cpu = new SnapshotMetric({ type: 'counter', name: 'systemmanager_container_cpu_usage_seconds_total', help: 'CPU time used by a running managed container (sampled in the background from Docker stats).', labelNames: ['name'], registry });
  const memory = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_container_memory_usage_bytes', help: 'Memory used by a running managed container without inactive page cache, as docker stats shows it (sampled in the background).', labelNames: ['name'], registry });
}
