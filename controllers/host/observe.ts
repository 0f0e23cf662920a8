// Reading the host (read-only): a snapshot for the Host resource's status on an interval, and the
// expensive lists (processes, connections) on demand behind a short cache, so read tools answer
// in milliseconds and a burst of calls costs one collection.

import os from 'node:os';
import si from 'systeminformation';

/** HostSnapshot is the observed part of a Host's status. */
export interface HostSnapshot {
  hostname: string;
  os: { platform: string; distro: string; release: string; kernel: string; arch: string };
  cpu: { model: string; cores: number; usageRatio: number };
  memory: { totalBytes: number; availableBytes: number; usedBytes: number };
  load: { one: number; five: number; fifteen: number };
  uptimeSeconds: number;
  bootTime: string;
  filesystems: Array<{ mountpoint: string; fsType: string; sizeBytes: number; usedBytes: number; availableBytes: number }>;
  interfaces: Array<{ name: string; addresses: string[]; mac: string }>;
  observedAt: string;
}

/** ProcessInfo is one process as read tools show it. */
export interface ProcessInfo {
  pid: number;
  name: string;
  command: string;
  user: string;
  state: string;
  cpuPercent: number;
  memoryPercent: number;
  memoryRssBytes: number;
  started: string;
}

/** ConnectionInfo is one socket as read tools show it. */
export interface ConnectionInfo {
  protocol: string;
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
  state: string;
  pid?: number;
  process?: string;
}

/** NetworkCounters are the byte/packet counters of one interface. */
export interface NetworkCounters {
  interface: string;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

/** HostReader is how the host controller and the read tools see the machine (a fake in unit tests). */
export interface HostReader {
  snapshot(): Promise<HostSnapshot>;
  processes(): Promise<ProcessInfo[]>;
  connections(): Promise<ConnectionInfo[]>;
  networkCounters(): Promise<NetworkCounters[]>;
}

// Pseudo and container-internal file systems say nothing about the host's disks.
const SKIP_FS = /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|nsfs|devpts|mqueue|fuse\..*)$/;

/** SystemHostReader reads the real machine through systeminformation. */
export class SystemHostReader implements HostReader {
  async snapshot(): Promise<HostSnapshot> {
    const [osInfo, cpu, load, mem, fs, ifaces] = await Promise.all([
      si.osInfo(),
      si.cpu(),
      si.currentLoad(),
      si.mem(),
      si.fsSize().catch(() => []),
      si.networkInterfaces().catch(() => []),
    ]);
    const [one, five, fifteen] = os.loadavg() as [number, number, number];
    const uptimeSeconds = os.uptime();
    const now = Date.now();
    return {
      hostname: os.hostname(),
      os: { platform: osInfo.platform, distro: `${osInfo.distro} ${osInfo.release}`.trim(), release: osInfo.release, kernel: osInfo.kernel, arch: osInfo.arch },
      cpu: { model: `${cpu.manufacturer} ${cpu.brand}`.trim(), cores: cpu.cores, usageRatio: round(load.currentLoad / 100, 4) },
      memory: { totalBytes: mem.total, availableBytes: mem.available, usedBytes: mem.total - mem.available },
      load: { one: round(one, 2), five: round(five, 2), fifteen: round(fifteen, 2) },
      uptimeSeconds: Math.round(uptimeSeconds),
      bootTime: new Date(now - uptimeSeconds * 1000).toISOString(),
      filesystems: fs
        .filter((f) => !SKIP_FS.test(f.type) && f.size > 0)
        .map((f) => ({ mountpoint: f.mount, fsType: f.type, sizeBytes: f.size, usedBytes: f.used, availableBytes: f.available })),
      interfaces: (Array.isArray(ifaces) ? ifaces : [ifaces]).map((i) => ({
        name: i.iface,
        addresses: [i.ip4, i.ip6].filter((a) => a !== ''),
        mac: i.mac,
      })),
      observedAt: new Date(now).toISOString(),
    };
  }

  async processes(): Promise<ProcessInfo[]> {
    const { list } = await si.processes();
    return list.map((p) => ({
      pid: p.pid,
      name: p.name,
      command: p.command + (p.params ? ` ${p.params}` : ''),
      user: p.user,
      state: p.state,
      cpuPercent: round(p.cpu, 2),
      memoryPercent: round(p.mem, 2),
      memoryRssBytes: p.memRss * 1024,
      started: p.started,
    }));
  }

  async connections(): Promise<ConnectionInfo[]> {
    const conns = await si.networkConnections();
    return conns.map((c) => ({
      protocol: c.protocol,
      localAddress: c.localAddress,
      localPort: Number(c.localPort) || 0,
      peerAddress: c.peerAddress,
      peerPort: Number(c.peerPort) || 0,
      state: c.state,
      ...(c.pid ? { pid: c.pid } : {}),
      ...(c.process ? { process: c.process } : {}),
    }));
  }

  async networkCounters(): Promise<NetworkCounters[]> {
    const stats = await si.networkStats('*');
    return stats.map((s) => ({
      interface: s.iface,
      rxBytes: s.rx_bytes,
      txBytes: s.tx_bytes,
      rxPackets: 0,
      txPackets: 0,
      rxErrors: s.rx_errors,
      txErrors: s.tx_errors,
      rxDropped: s.rx_dropped,
      txDropped: s.tx_dropped,
    }));
  }
}

/**
 * CachedHostReader wraps a reader so each expensive list is collected at most once per `maxAgeMs`,
 * and concurrent callers share one collection in flight.
 */
export class CachedHostReader implements HostReader {
  private readonly inner: HostReader;
  private readonly maxAgeMs: number;
  private readonly cache = new Map<string, { at: number; value: Promise<unknown> }>();
  private readonly now: () => number;

  constructor(inner: HostReader, opts: { maxAgeMs?: number; now?: () => number } = {}) {
    this.inner = inner;
    this.maxAgeMs = opts.maxAgeMs ?? 2000;
    this.now = opts.now ?? Date.now;
  }

  snapshot(): Promise<HostSnapshot> {
    return this.cached('snapshot', () => this.inner.snapshot());
  }
  processes(): Promise<ProcessInfo[]> {
    return this.cached('processes', () => this.inner.processes());
  }
  connections(): Promise<ConnectionInfo[]> {
    return this.cached('connections', () => this.inner.connections());
  }
  networkCounters(): Promise<NetworkCounters[]> {
    return this.cached('networkCounters', () => this.inner.networkCounters());
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.maxAgeMs) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(key, { at: this.now(), value });
    // A failed collection is not cached: the next caller tries again.
    value.catch(() => {
      if (this.cache.get(key)?.value === value) this.cache.delete(key);
    });
    return value;
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round((Number.isFinite(n) ? n : 0) * f) / f;
}
