// What the Docker read tools list that the controllers never need: every container with its image
// and ports, images, networks, and a container's log tail. A small interface (fakes in unit tests)
// and a dockerode adapter on the same socket as the container controller's engine; failures map to
// the engine's stable errors (DOCKER_UNAVAILABLE, DOCKER_API_ERROR) through its mapError.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import Docker from 'dockerode';
import { mapError } from '../../controllers/container/engine.ts';

/** ContainerRow is one container as get_container_list shows it. */
export interface ContainerRow {
  id: string;
  name: string;
  image: string;
  state: string;
  status: string;
  created: string;
  ports: string[];
  labels: Record<string, string>;
}

/** ImageRow is one local image. */
export interface ImageRow {
  id: string;
  tags: string[];
  sizeBytes: number;
  created: string;
}

/** NetworkRow is one Docker network. */
export interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  scope: string;
  internal: boolean;
}

/** LogOptions select a log tail. */
export interface LogOptions {
  tail: number;
  /** sinceSeconds: only lines newer than this Unix time. */
  sinceSeconds?: number;
}

/** DockerInventory is the read side the Docker tools use. */
export interface DockerInventory {
  containers(signal?: AbortSignal): Promise<ContainerRow[]>;
  images(signal?: AbortSignal): Promise<ImageRow[]>;
  networks(signal?: AbortSignal): Promise<NetworkRow[]>;
  /** logs returns the last lines of stdout and stderr, oldest first. */
  logs(id: string, opts: LogOptions, signal?: AbortSignal): Promise<string[]>;
  /** inspectContainer reads a container's runtime state (analyze_container_logs: OOM kill, restarts); 404 for an unknown container. */
  inspectContainer?(id: string, signal?: AbortSignal): Promise<ContainerInspection>;
  /** containerLogs streams a bounded window of a container's log, line by line (Docker timestamps first), stopping at `maxBytes`. */
  containerLogs?(id: string, window: ContainerLogWindow, signal?: AbortSignal): Promise<ContainerLogStream>;
}

/** ContainerInspection is the part of `docker inspect` the log analysis uses. */
export interface ContainerInspection {
  id: string;
  name: string;
  tty: boolean;
  status: string;
  oomKilled: boolean;
  restartCount: number;
  exitCode: number;
  error: string;
  startedAt: string;
}

/** ContainerLogWindow bounds what is read: the last `tail` lines (all when unset) newer than `sinceSeconds`, at most `maxBytes` of them. */
export interface ContainerLogWindow {
  sinceSeconds?: number;
  tail?: number;
  maxBytes: number;
}

/** ContainerLogStream yields lines as Docker sends them; `bytesRead` and `truncated` are final once iteration ends. */
export interface ContainerLogStream extends AsyncIterable<string> {
  readonly bytesRead: number;
  readonly truncated: boolean;
}

/** MAX_LOG_LINE_BYTES is the longest log line kept; the rest of a longer line is dropped. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

/**
 * createDockerInventory adapts dockerode on `socketPath`. Every call gives up after `timeoutMs`
 * (default 5 s) so a hung daemon never holds a tool call, and lists are shared for `cacheMs`
 * (default 1 s): a burst of calls costs one request to the daemon, as the host reader does for processes.
 */
export function createDockerInventory(socketPath: string, opts: { timeoutMs?: number; cacheMs?: number } = {}): DockerInventory {
  const docker = new Docker({ socketPath });
  const timeoutMs = opts.timeoutMs ?? 5000;
  const cacheMs = opts.cacheMs ?? 1000;
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < cacheMs) return hit.value as Promise<T>;
    const value = load();
    cache.set(key, { at: Date.now(), value });
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key); // failures are not cached
    });
    return value;
  };
  const call = async <T>(operation: string, signal: AbortSignal | undefined, fn: (s: AbortSignal) => Promise<T>): Promise<T> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const joined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await fn(joined);
    } catch (err) {
      if (timeout.aborted) throw mapError(operation, socketPath, Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' }));
      throw mapError(operation, socketPath, err);
    }
  };
  return {
    containers() {
      return cached('containers', () => listContainers());
    },
    images() {
      return cached('images', () => listImages());
    },
    networks() {
      return cached('networks', () => listNetworks());
    },
    async logs(id, o, signal) {
      const buf = (await call(`logs of ${id}`, signal, (s) =>
        docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail: o.tail, ...(o.sinceSeconds ? { since: o.sinceSeconds } : {}), abortSignal: s }),
      )) as unknown as Buffer;
      return demux(buf);
    },
    async inspectContainer(id, signal) {
      const info = await call(`inspect ${id}`, signal, (s) => docker.getContainer(id).inspect({ abortSignal: s }));
      return {
        id: info.Id.slice(0, 12),
        name: info.Name.replace(/^\//, ''),
        tty: Boolean(info.Config?.Tty),
        status: info.State?.Status ?? 'unknown',
        oomKilled: Boolean(info.State?.OOMKilled),
        restartCount: info.RestartCount ?? 0,
        exitCode: info.State?.ExitCode ?? 0,
        error: info.State?.Error ?? '',
        startedAt: info.State?.StartedAt ?? '',
      };
    },
    async containerLogs(id, window, signal) {
      const info = await this.inspectContainer!(id, signal);
      const query = new URLSearchParams({ stdout: '1', stderr: '1', timestamps: '1', follow: '0', tail: window.tail === undefined ? 'all' : String(window.tail), since: String(window.sinceSeconds ?? 0) });
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest({ socketPath, path: `/containers/${encodeURIComponent(id)}/logs?${query}`, method: 'GET', ...(signal ? { signal } : {}) }, resolve);
        req.once('error', (err) => reject(mapError(`logs of ${id}`, socketPath, err)));
        req.end();
      });
      if (res.statusCode !== 200) {
        let body = '';
        for await (const chunk of res) if (body.length < 4096) body += String(chunk);
        const message = (() => {
          try {
            return (JSON.parse(body) as { message?: string }).message ?? body;
          } catch {
            return body;
          }
        })();
        throw mapError(`logs of ${id}`, socketPath, Object.assign(new Error(message), { statusCode: res.statusCode ?? 500, json: { message } }));
      }
      return logStream(res, info.tty, window.maxBytes);
    },
  };

  // Shared lists run without the caller's signal: one caller giving up must not fail the others.
  async function listContainers(): Promise<ContainerRow[]> {
    const rows = await call('list containers', undefined, (s) => docker.listContainers({ all: true, abortSignal: s }));
    return rows.map((r) => ({
      id: r.Id.slice(0, 12),
      name: (r.Names?.[0] ?? '').replace(/^\//, ''),
      image: r.Image,
      state: r.State,
      status: r.Status,
      created: new Date(r.Created * 1000).toISOString(),
      ports: (r.Ports ?? []).map((p) => (p.PublicPort ? `${p.IP ?? ''}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`)),
      labels: r.Labels ?? {},
    }));
  }
  async function listImages(): Promise<ImageRow[]> {
    const rows = await call('list images', undefined, (s) => docker.listImages({ abortSignal: s }));
    return rows.map((r) => ({
      id: r.Id.replace(/^sha256:/, '').slice(0, 12),
      tags: (r.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      sizeBytes: r.Size,
      created: new Date(r.Created * 1000).toISOString(),
    }));
  }
  async function listNetworks(): Promise<NetworkRow[]> {
    const rows = await call('list networks', undefined, (s) => docker.listNetworks({ abortSignal: s }));
    return rows.map((r) => ({ id: r.Id.slice(0, 12), name: r.Name, driver: r.Driver, scope: r.Scope, internal: Boolean(r.Internal) }));
  }
}

/**
 * logStream reads Docker's log response incrementally: the 8-byte frame headers of a non-TTY
 * container are taken apart as they arrive (a frame may span chunks), lines are assembled per
 * stream, and reading stops — the response is destroyed — once `maxBytes` of payload came in.
 */
function logStream(res: IncomingMessage, tty: boolean, maxBytes: number): ContainerLogStream {
  let bytesRead = 0;
  let truncated = false;
  async function* lines(): AsyncGenerator<string> {
    const partial: Array<{ parts: Buffer[]; size: number; dropped: boolean }> = [0, 1, 2].map(() => ({ parts: [], size: 0, dropped: false }));
    let header = Buffer.alloc(0);
    let frameLeft = 0;
    let frameStream = 1;
    const out: string[] = [];
    const feed = (stream: number, data: Buffer) => {
      const p = partial[stream]!;
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        take(p, data.subarray(start, nl));
        out.push(Buffer.concat(p.parts).toString('utf8'));
        p.parts = [];
        p.size = 0;
        p.dropped = false;
        start = nl + 1;
      }
      if (start < data.length) take(p, data.subarray(start));
    };
    const take = (p: { parts: Buffer[]; size: number; dropped: boolean }, piece: Buffer) => {
      const room = MAX_LOG_LINE_BYTES - p.size;
      if (room <= 0) {
        p.dropped = true;
        return;
      }
      // Copy: the chunk is released as soon as its lines are out.
      const kept = Buffer.from(piece.length > room ? piece.subarray(0, room) : piece);
      p.parts.push(kept);
      p.size += kept.length;
    };
    try {
      for await (const raw of res as AsyncIterable<Buffer>) {
        let chunk = raw;
        if (bytesRead + chunk.length > maxBytes) {
          chunk = chunk.subarray(0, maxBytes - bytesRead);
          truncated = true;
        }
        bytesRead += chunk.length;
        if (tty) feed(1, chunk);
        else {
          let i = 0;
          while (i < chunk.length) {
            if (frameLeft === 0) {
              const need = 8 - header.length;
              header = Buffer.concat([header, chunk.subarray(i, i + need)]);
              i += Math.min(need, chunk.length - i);
              if (header.length < 8) break;
              frameStream = header[0] === 2 ? 2 : 1;
              frameLeft = header.readUInt32BE(4);
              header = Buffer.alloc(0);
              continue;
            }
            const n = Math.min(frameLeft, chunk.length - i);
            feed(frameStream, chunk.subarray(i, i + n));
            frameLeft -= n;
            i += n;
          }
        }
        for (const line of out) yield line;
        out.length = 0;
        if (truncated) break;
      }
      for (const p of partial) if (p.size > 0 && !truncated) yield Buffer.concat(p.parts).toString('utf8');
    } finally {
      res.destroy();
    }
  }
  const iterable = lines();
  return {
    [Symbol.asyncIterator]: () => iterable,
    get bytesRead() {
      return bytesRead;
    },
    get truncated() {
      return truncated;
    },
  };
}

/** demux splits Docker's multiplexed log stream (8-byte frame headers) into lines; a TTY container's raw text passes through. */
export function demux(buf: Buffer): string[] {
  const chunks: string[] = [];
  let i = 0;
  const framed = buf.length >= 8 && (buf[0] === 1 || buf[0] === 2 || buf[0] === 0) && buf[1] === 0 && buf[2] === 0 && buf[3] === 0;
  if (!framed) return splitLines(buf.toString('utf8'));
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    chunks.push(buf.subarray(i + 8, i + 8 + size).toString('utf8'));
    i += 8 + size;
  }
  return splitLines(chunks.join(''));
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
