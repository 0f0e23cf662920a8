// Prometheus metrics for the whole agent (DESIGN §8): one prom-client Registry per agent, one file
// per concern. Values that are a point in time are read from the store or a sampler's cache in
// collect(), so a scrape never runs df, lists processes or calls Docker; counters are fed by hooks
// (the controller manager, the MCP tool framework, the audit log). This folder may import
// controllers/, resources/, mcp/http/ and mcp/server/ (types); only mcp/agent.ts and tests import it.

import { collectDefaultMetrics, Counter, Gauge } from 'prom-client';
import type { NetworkCounters } from '../../controllers/host/index.ts';
import { AuditMetrics } from './audit.ts';
import { registerBuildInfo } from './build-info.ts';
import { sampleContainerStats, type ContainerStatsReader, type ContainerUsage } from './container-stats.ts';
import { registerContainerMetrics } from './containers.ts';
import { ControllerRuntimeMetrics } from './controller-runtime.ts';
import { registerHostMetrics } from './host.ts';
import { registerManifestMetrics, type ManifestSourceReader } from './manifests.ts';
import { ToolCallMetrics } from './mcp-tools.ts';
import { registerPackageMetrics } from './packages.ts';
import { registerProbeMetrics } from './probes.ts';
import { registerProposalMetrics } from './proposals.ts';
import { registerResourceMetrics } from './resources.ts';
import { MetricsRegistry } from './snapshot-metric.ts';
import { BackgroundSampler, samplerHealthFrom } from './sampler.ts';
import type { StoreReader } from './status-fields.ts';
import { registerTokenMetrics } from './tokens.ts';

export { AuditMetrics } from './audit.ts';
export { registerBuildInfo } from './build-info.ts';
export { dockerStatsReader, parseDockerStats, sampleContainerStats } from './container-stats.ts';
export type { ContainerStatsReader, ContainerUsage } from './container-stats.ts';
export { CONTAINER_HEALTH, CONTAINER_STATES, registerContainerMetrics } from './containers.ts';
export { ControllerRuntimeMetrics } from './controller-runtime.ts';
export { registerHostMetrics } from './host.ts';
export type { HostMetricsOptions } from './host.ts';
export { registerManifestMetrics } from './manifests.ts';
export type { ManifestSourceReader } from './manifests.ts';
export { ToolCallMetrics } from './mcp-tools.ts';
export { registerPackageMetrics } from './packages.ts';
export { registerProbeMetrics } from './probes.ts';
export { PROPOSAL_PHASES, registerProposalMetrics } from './proposals.ts';
export { registerResourceMetrics, suspendableKinds } from './resources.ts';
export { METRICS_PATH, metricsHandler, MetricsListener, requireMetricsRead } from './route.ts';
export { BackgroundSampler } from './sampler.ts';
export { MetricsRegistry, SnapshotMetric } from './snapshot-metric.ts';
export type { SnapshotMetricOptions } from './snapshot-metric.ts';
export type { BackgroundSamplerOptions, SamplerHealth } from './sampler.ts';
export type { StoreReader } from './status-fields.ts';
export { registerTokenMetrics } from './tokens.ts';

/** DEFAULT_SAMPLE_INTERVAL_MS is how often the background samplers (network counters, container stats) refresh. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 15_000;

/** AgentMetricsOptions configure createAgentMetrics. */
export interface AgentMetricsOptions {
  store: StoreReader;
  source: ManifestSourceReader;
  /** hostName: this agent's Host resource. */
  hostName: string;
  /** version: the systemmanager version for systemmanager_build_info. */
  version: string;
  /** networkCounters reads the interfaces' counters (the host reader); sampled in the background. */
  networkCounters?: () => Promise<NetworkCounters[]>;
  /** containerStats reads one container's usage (Docker stats); sampled in the background. */
  containerStats?: ContainerStatsReader;
  /** sampleIntervalMs: how often the samplers run (default 15 s). */
  sampleIntervalMs?: number;
  /** defaultMetrics: prom-client's process_* and nodejs_* metrics (default true). */
  defaultMetrics?: boolean;
  onSampleError?: (sampler: string, err: unknown) => void;
}

/** AgentMetrics is everything one agent exports, with the hooks other parts feed. */
export interface AgentMetrics {
  readonly registry: MetricsRegistry;
  /** controllers goes to the ControllerManager's `metrics` option. */
  readonly controllers: ControllerRuntimeMetrics;
  /** tools goes to the MCP tool registry's `metrics` option. */
  readonly tools: ToolCallMetrics;
  /** audit.record goes to the audit log's onAppend hook. */
  readonly audit: AuditMetrics;
  readonly network: BackgroundSampler<NetworkCounters[]>;
  readonly containerStats: BackgroundSampler<Map<string, ContainerUsage>>;
  /** start begins the background samplers. */
  start(): void;
  /** stop ends them and waits for samples in flight. */
  stop(): Promise<void>;
}

/** createAgentMetrics builds the registry of one agent with every collector registered. */
export function createAgentMetrics(opts: AgentMetricsOptions): AgentMetrics {
  const registry = new MetricsRegistry();
  const intervalMs = opts.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
  const lastSample = new Gauge({ name: 'systemmanager_metrics_last_sample_timestamp_seconds', help: 'When a background sampler last succeeded, in Unix seconds.', labelNames: ['sampler'], registers: [registry] });
  const sampleErrors = new Counter({ name: 'systemmanager_metrics_sample_errors_total', help: 'Background samples that failed (the previous values stay in place).', labelNames: ['sampler'], registers: [registry] });
  const health = samplerHealthFrom(lastSample, sampleErrors);
  const samplerNames = ['network', 'container_stats'];
  for (const sampler of samplerNames) sampleErrors.inc({ sampler }, 0);

  const network = new BackgroundSampler<NetworkCounters[]>({
    name: 'network',
    intervalMs,
    sample: async () => (opts.networkCounters ? opts.networkCounters() : []),
    health,
    onError: (err) => opts.onSampleError?.('network', err),
  });
  const containerStats: BackgroundSampler<Map<string, ContainerUsage>> = new BackgroundSampler<Map<string, ContainerUsage>>({
    name: 'container_stats',
    intervalMs,
    sample: (signal) => (opts.containerStats ? sampleContainerStats(opts.store, opts.containerStats, signal, containerStats.value) : Promise.resolve(new Map())),
    health,
    onError: (err) => opts.onSampleError?.('container_stats', err),
  });

  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges with `_total`, which promtool rejects; nodejs_active_handles,
    // nodejs_active_requests and nodejs_active_resources carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  registerBuildInfo(registry, opts.version);
  const controllers = new ControllerRuntimeMetrics(registry);
  registerResourceMetrics(registry, opts.store);
  registerManifestMetrics(registry, opts.source);
  registerHostMetrics(registry, { store: opts.store, hostName: opts.hostName, network });
  registerContainerMetrics(registry, { store: opts.store, stats: containerStats });
  registerPackageMetrics(registry, opts.store);
  registerProbeMetrics(registry, opts.store);
  registerProposalMetrics(registry, opts.store);
  registerTokenMetrics(registry, opts.store);
  const tools = new ToolCallMetrics(registry);
  const audit = new AuditMetrics(registry);

  return {
    registry,
    controllers,
    tools,
    audit,
    network,
    containerStats,
    start() {
      network.start();
      containerStats.start();
    },
    async stop() {
      await Promise.all([network.stop(), containerStats.stop()]);
    },
  };
}
