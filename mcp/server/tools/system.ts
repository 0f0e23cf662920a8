// The system tools: host status, processes, network interfaces and counters, and health. They answer
// from the Host resource's status (written by the host controller) and the host reader's short
// cache, plus values the kernel gives for free (load, free memory), so they never wait on a probe.

import os from 'node:os';
import { getCondition } from '../../../controllers/runtime/index.ts';
import type { ToolDefinition, ToolRegistry } from '../framework.ts';
import type { McpServices } from '../services.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required });
const arrayOf = (items: Record<string, unknown>) => ({ type: 'array', items });

/** registerSystemTools declares get_system_status, get_top_processes, get_network_status, get_network_io_counters and health_check. */
export function registerSystemTools(registry: ToolRegistry, s: McpServices): void {
  registry.add({
    name: 'get_system_status',
    title: 'System status',
    description: 'The host at a glance: OS, CPU, memory, load, uptime, filesystems and Docker, as last observed by the host controller (observedAt says when), plus live load and free memory.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: obj({ host: { type: 'string' }, observed: { type: 'boolean' }, status: { type: 'object' }, ready: { type: 'object' }, live: obj({ load: { type: 'array', items: { type: 'number' } }, freeMemoryBytes: { type: 'number' }, uptimeSeconds: { type: 'number' } }) }, ['host', 'observed', 'live']),
    annotations: READ,
    access: 'system:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler() {
      const host = s.store.get('Host', s.hostName);
      const status = (host?.status ?? {}) as Record<string, unknown>;
      const { conditions: _c, observedGeneration: _g, ...observed } = status;
      const ready = getCondition(host?.status, 'Ready');
      return {
        structured: {
          host: s.hostName,
          observed: Boolean(status.observedAt),
          status: observed,
          ...(ready ? { ready: { status: ready.status, reason: ready.reason, ...(ready.message ? { message: ready.message } : {}) } } : {}),
          live: { load: os.loadavg().map((n) => Math.round(n * 100) / 100), freeMemoryBytes: os.freemem(), uptimeSeconds: Math.round(os.uptime()) },
        },
      };
    },
  });

  registry.add<{ sortBy?: 'cpu' | 'memory'; limit?: number }>({
    name: 'get_top_processes',
    title: 'Top processes',
    description: 'The processes using the most CPU or memory (a listing at most 2 s old).',
    inputSchema: {
      type: 'object',
      properties: {
        sortBy: { type: 'string', enum: ['cpu', 'memory'], default: 'cpu', description: 'Sort by CPU or memory use.' },
        limit: { type: 'integer', minimum: 1, maximum: 200, default: 10, description: 'How many processes.' },
      },
      additionalProperties: false,
    },
    outputSchema: obj({ sortBy: { type: 'string' }, total: { type: 'integer' }, processes: arrayOf(obj({ pid: { type: 'integer' }, name: { type: 'string' }, user: { type: 'string' }, cpuPercent: { type: 'number' }, memoryPercent: { type: 'number' }, memoryRssBytes: { type: 'number' }, state: { type: 'string' }, command: { type: 'string' } })) }, ['processes']),
    annotations: READ,
    access: 'system:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      const sortBy = args.sortBy ?? 'cpu';
      const all = await s.hostReader.processes();
      const key = sortBy === 'cpu' ? 'cpuPercent' : 'memoryPercent';
      const top = [...all].sort((a, b) => b[key] - a[key] || a.pid - b.pid).slice(0, args.limit ?? 10);
      return {
        structured: {
          sortBy,
          total: all.length,
          processes: top.map((p) => ({ pid: p.pid, name: p.name, user: p.user, cpuPercent: p.cpuPercent, memoryPercent: p.memoryPercent, memoryRssBytes: p.memoryRssBytes, state: p.state, command: p.command.slice(0, 200) })),
        },
      };
    },
  });

  registry.add({
    name: 'get_network_status',
    title: 'Network status',
    description: 'Network interfaces with their addresses, MAC, and whether they are internal (loopback).',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: obj({ hostname: { type: 'string' }, interfaces: arrayOf(obj({ name: { type: 'string' }, mac: { type: 'string' }, internal: { type: 'boolean' }, addresses: arrayOf(obj({ address: { type: 'string' }, family: { type: 'string' }, cidr: { type: ['string', 'null'] } })) })) }, ['interfaces']),
    annotations: READ,
    access: 'system:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler() {
      const interfaces = Object.entries(os.networkInterfaces()).map(([name, addrs]) => ({
        name,
        mac: addrs?.[0]?.mac ?? '',
        internal: Boolean(addrs?.every((a) => a.internal)),
        addresses: (addrs ?? []).map((a) => ({ address: a.address, family: a.family, cidr: a.cidr })),
      }));
      return { structured: { hostname: os.hostname(), interfaces } };
    },
  });

  registry.add<{ interface?: string }>({
    name: 'get_network_io_counters',
    title: 'Network I/O counters',
    description: 'Bytes, errors and drops per network interface since boot (a reading at most 2 s old).',
    inputSchema: {
      type: 'object',
      properties: { interface: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:@-]+$', description: 'Only this interface.' } },
      additionalProperties: false,
    },
    outputSchema: obj({ counters: arrayOf(obj({ interface: { type: 'string' }, rxBytes: { type: 'number' }, txBytes: { type: 'number' } })) }, ['counters']),
    annotations: READ,
    access: 'system:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      const all = await s.hostReader.networkCounters();
      const counters = args.interface ? all.filter((c) => c.interface === args.interface) : all;
      return { structured: { counters } };
    },
  });

  registry.add({
    name: 'health_check',
    title: 'Health check',
    description: 'Whether the server is up and ready. Needs no scope; reveals no secrets or host details.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: obj({ status: { type: 'string', enum: ['ok', 'degraded'] }, version: { type: 'string' }, uptimeSeconds: { type: 'number' }, checks: { type: 'object', additionalProperties: { type: 'boolean' } } }, ['status', 'version', 'checks']),
    annotations: READ,
    access: 'public',
    risk: 'low',
    kind: 'read',
    async handler() {
      const docker = (s.store.get('Host', s.hostName)?.status as { docker?: { available?: boolean } } | undefined)?.docker;
      const checks: Record<string, boolean> = { manifestsLoaded: s.store.sourceState.synced, ready: s.ready?.() ?? true };
      if (docker) checks.docker = docker.available === true;
      const ok = checks.manifestsLoaded! && checks.ready!;
      return { structured: { status: ok ? 'ok' : 'degraded', version: s.version, uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000), checks } };
    },
  } satisfies ToolDefinition);
}
