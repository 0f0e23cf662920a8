// CPU and memory of managed containers come from Docker's stats endpoint, one request per running
// container. That is far too slow for a scrape, so the container-stats sampler gathers them in the
// background and a scrape reads the last sample only.

import { request } from 'node:http';
import type { StoreReader } from './status-fields.ts';
import { statusOf, stringField } from './status-fields.ts';

/** ContainerUsage is one container's counters at the last sample. */
export interface ContainerUsage {
  /** containerID the numbers belong to: a recreated container must not inherit its predecessor's. */
  containerID: string;
  cpuSeconds: number;
  memoryBytes: number;
}

/** ContainerStatsReader reads one container's usage (Docker in production, a fake in unit tests). */
export interface ContainerStatsReader {
  read(containerID: string, signal: AbortSignal): Promise<Omit<ContainerUsage, 'containerID'>>;
}

const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

/** dockerStatsReader reads `GET /containers/<id>/stats?stream=false&one-shot=true` over the engine's unix socket. */
export function dockerStatsReader(socketPath: string): ContainerStatsReader {
  return {
    read(containerID, signal) {
      if (!CONTAINER_ID.test(containerID)) return Promise.reject(new TypeError(`not a container ID: ${JSON.stringify(containerID)}`));
      return new Promise((resolve, reject) => {
        const req = request({ socketPath, path: `/containers/${containerID}/stats?stream=false&one-shot=true`, method: 'GET', signal }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
            if (body.length > 1 << 20) req.destroy(new Error('the stats answer is larger than 1 MiB'));
          });
          res.on('end', () => {
            if (res.statusCode !== 200) {
              reject(new Error(`docker stats ${containerID}: HTTP ${res.statusCode}`));
              return;
            }
            try {
              resolve(parseDockerStats(JSON.parse(body)));
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    },
  };
}

/**
 * parseDockerStats turns one Docker stats document into seconds of CPU and bytes of memory. Memory is
 * `usage` minus the inactive page cache (cgroup v2 `inactive_file`, v1 `total_inactive_file`), as
 * `docker stats` shows it.
 */
export function parseDockerStats(doc: unknown): Omit<ContainerUsage, 'containerID'> {
  const d = doc as { cpu_stats?: { cpu_usage?: { total_usage?: unknown } }; memory_stats?: { usage?: unknown; stats?: Record<string, unknown> } };
  const cpu = d?.cpu_stats?.cpu_usage?.total_usage;
  const usage = d?.memory_stats?.usage;
  if (typeof cpu !== 'number' || typeof usage !== 'number') throw new TypeError('the stats document has no cpu_stats.cpu_usage.total_usage or memory_stats.usage');
  const stats = d.memory_stats?.stats ?? {};
  const inactive = typeof stats.inactive_file === 'number' ? stats.inactive_file : typeof stats.total_inactive_file === 'number' ? stats.total_inactive_file : 0;
  return { cpuSeconds: cpu / 1e9, memoryBytes: Math.max(0, usage - (inactive < usage ? inactive : 0)) };
}

/**
 * sampleContainerStats reads the usage of every running Container in the store, a few at a time.
 * A container that does not answer keeps its previous numbers (when it is still the same container),
 * so one slow stats call does not make a series blink out.
 */
export async function sampleContainerStats(
  store: StoreReader,
  reader: ContainerStatsReader,
  signal: AbortSignal,
  previous?: ReadonlyMap<string, ContainerUsage>,
  concurrency = 4,
): Promise<Map<string, ContainerUsage>> {
  const targets: Array<{ name: string; containerID: string }> = [];
  for (const c of store.list('Container')) {
    const s = statusOf(c);
    const id = stringField(s, 'containerID');
    if (id && s.state === 'running') targets.push({ name: c.metadata.name, containerID: id });
  }
  const out = new Map<string, ContainerUsage>();
  let next = 0;
  const worker = async () => {
    while (next < targets.length && !signal.aborted) {
      const t = targets[next++]!;
      try {
        out.set(t.name, { containerID: t.containerID, ...(await reader.read(t.containerID, signal)) });
      } catch {
        // one container's failure must not cost the others their numbers
        const before = previous?.get(t.name);
        if (before?.containerID === t.containerID) out.set(t.name, before);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  return out;
}
