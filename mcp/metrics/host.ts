// This host, from the status of the agent's own Host resource (which the host controller refreshes
// on its interval) and from the network-counter sampler: a scrape reads both caches and never calls
// systeminformation, df or /proc itself.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { NetworkCounters } from '../../controllers/host/index.ts';
import type { BackgroundSampler } from './sampler.ts';
import { finiteNumber, statusOf, timestampSeconds, type StoreReader } from './status-fields.ts';

/** HostMetricsOptions configure registerHostMetrics. */
export interface HostMetricsOptions {
  store: StoreReader;
  /** hostName: the name of this agent's Host resource. */
  hostName: string;
  /** network: the sampler of the interfaces' byte counters. */
  network?: Pick<BackgroundSampler<NetworkCounters[]>, 'value'>;
}

// Interfaces whose names look like this are kept; anything else (odd bytes from a hostile netns) is left out.
const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,32}$/;

/** registerHostMetrics adds the systemmanager_host_* metrics. */
export function registerHostMetrics(registry: Registry, opts: HostMetricsOptions): void {
  const registers = [registry];
  const cpu: Gauge = new Gauge({
    name: 'systemmanager_host_cpu_usage_ratio',
    help: 'CPU busy time over all cores as a ratio (0-1), as of the last Host observation.',
    registers,
    collect() {
      for (const g of [cpu, cores, boot, observed, docker]) clearScalar(g);
      memory.reset();
      filesystem.reset();
      load.reset();
      const host = opts.store.get('Host', opts.hostName);
      if (!host?.status) return;
      const s = statusOf(host);
      const c = s.cpu as Record<string, unknown> | undefined;
      setIf(cpu, {}, finiteNumber(c?.usageRatio));
      setIf(cores, {}, finiteNumber(c?.cores));
      const m = s.memory as Record<string, unknown> | undefined;
      setIf(memory, { state: 'total' }, finiteNumber(m?.totalBytes));
      setIf(memory, { state: 'available' }, finiteNumber(m?.availableBytes));
      setIf(memory, { state: 'used' }, finiteNumber(m?.usedBytes));
      const l = s.load as Record<string, unknown> | undefined;
      setIf(load, { period: '1m' }, finiteNumber(l?.one));
      setIf(load, { period: '5m' }, finiteNumber(l?.five));
      setIf(load, { period: '15m' }, finiteNumber(l?.fifteen));
      setIf(boot, {}, timestampSeconds(s.bootTime));
      setIf(observed, {}, timestampSeconds(s.observedAt));
      const d = s.docker as Record<string, unknown> | undefined;
      if (d && typeof d.available === 'boolean') docker.set(d.available ? 1 : 0);
      for (const f of Array.isArray(s.filesystems) ? (s.filesystems as Record<string, unknown>[]) : []) {
        const mountpoint = f?.mountpoint;
        if (typeof mountpoint !== 'string' || mountpoint.length > 256) continue;
        setIf(filesystem, { mountpoint, state: 'size' }, finiteNumber(f.sizeBytes));
        setIf(filesystem, { mountpoint, state: 'used' }, finiteNumber(f.usedBytes));
        setIf(filesystem, { mountpoint, state: 'available' }, finiteNumber(f.availableBytes));
      }
    },
  });
  const cores = new Gauge({ name: 'systemmanager_host_cpu_cores', help: 'Number of CPU cores.', registers });
  const memory = new Gauge({ name: 'systemmanager_host_memory_bytes', help: 'Memory by state: total, available (for new processes without swapping), used (total - available).', labelNames: ['state'], registers });
  const filesystem = new Gauge({ name: 'systemmanager_host_filesystem_bytes', help: 'File system space by mount point and state: size, used, available.', labelNames: ['mountpoint', 'state'], registers });
  const load = new Gauge({ name: 'systemmanager_host_load', help: 'Load average over 1m, 5m and 15m.', labelNames: ['period'], registers });
  const boot = new Gauge({ name: 'systemmanager_host_boot_time_seconds', help: 'When the host booted, in Unix seconds.', registers });
  const observed = new Gauge({ name: 'systemmanager_host_observed_timestamp_seconds', help: 'When the Host status these values come from was observed, in Unix seconds (staleness of the cache).', registers });
  const docker = new Gauge({ name: 'systemmanager_host_docker_up', help: 'Whether the Docker engine answered at the last Host observation (1) or not (0).', registers });

  const network: Counter<'interface' | 'direction'> = new Counter({
    name: 'systemmanager_host_network_bytes_total',
    help: 'Bytes received and transmitted per network interface, from the kernel counters (sampled in the background).',
    labelNames: ['interface', 'direction'],
    registers,
    collect() {
      network.reset();
      for (const n of opts.network?.value ?? []) {
        if (!INTERFACE_NAME.test(n.interface)) continue;
        const rx = finiteNumber(n.rxBytes);
        const tx = finiteNumber(n.txBytes);
        if (rx !== undefined && rx >= 0) network.inc({ interface: n.interface, direction: 'receive' }, rx);
        if (tx !== undefined && tx >= 0) network.inc({ interface: n.interface, direction: 'transmit' }, tx);
      }
    },
  });
}

function setIf<L extends string>(gauge: Gauge<L>, labels: Partial<Record<L, string>>, value: number | undefined): void {
  if (value !== undefined) gauge.set(labels, value);
}

/** clearScalar empties a gauge without labels: reset() alone leaves it at 0, which would claim a value (a boot time of 1970). */
function clearScalar(gauge: Gauge): void {
  gauge.reset();
  gauge.remove();
}
