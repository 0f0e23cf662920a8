// The Docker engine as the container and image controllers see it: a small interface with only the
// calls they make, so unit tests can use a fake and integration tests the real engine (DESIGN §10,
// STYLE rule 7). `createDockerEngine` adapts dockerode; it maps transport failures to
// DockerUnavailableError and HTTP failures to DockerApiError carrying the daemon's own message.

import { SystemManagerError, type ErrorCode } from '../../resources/errors.ts';
import Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';

/** ContainerCreateRequest is the body of Docker's `POST /containers/create` (plus the name). */
export type ContainerCreateRequest = ContainerCreateOptions & { name: string };

/** ContainerSummary is one row of `GET /containers/json?all=1`. */
export interface ContainerSummary {
  id: string;
  /** name: the container name without Docker's leading slash. */
  name: string;
  labels: Record<string, string>;
  /** state: created, running, paused, restarting, removing, exited or dead. */
  state: string;
}

/** ContainerObservation is what the controllers read from `GET /containers/<id>/json`. */
export interface ContainerObservation {
  id: string;
  name: string;
  /** imageId: the image ID (sha256:...) the container was created from. */
  imageId: string;
  labels: Record<string, string>;
  status: string;
  running: boolean;
  paused: boolean;
  restarting: boolean;
  exitCode: number;
  /** error: the daemon's message for the last failed start, if any. */
  error: string;
  oomKilled: boolean;
  /** startedAt/finishedAt: RFC 3339, absent when Docker reports its zero time. */
  startedAt?: string;
  finishedAt?: string;
  /** health: starting, healthy or unhealthy; absent without a health check. */
  health?: string;
  restartCount: number;
}

/** ImageObservation is what the controllers read from `GET /images/<ref>/json`. */
export interface ImageObservation {
  id: string;
  repoDigests: string[];
  size: number;
}

/** DockerEvent is one message of Docker's event stream. */
export interface DockerEvent {
  type: string;
  /** action: e.g. `die`, `start`, `destroy`, `health_status: healthy`. */
  action: string;
  id: string;
  attributes: Record<string, string>;
  timeNano: number;
}

/** EventFilters select events (Docker's filter names: type, label, event, container...). */
export type EventFilters = Record<string, string[]>;

/** DockerEngine is the part of the Docker API the controllers use. Every call takes an abort signal. */
export interface DockerEngine {
  /** endpoint: where the engine is reached (the socket path), for messages. */
  readonly endpoint: string;
  ping(signal?: AbortSignal): Promise<void>;
  /** listContainers lists all containers (running or not) matching Docker's filters. */
  listContainers(filters: Record<string, string[]>, signal?: AbortSignal): Promise<ContainerSummary[]>;
  /** inspectContainer returns undefined when the container does not exist. */
  inspectContainer(id: string, signal?: AbortSignal): Promise<ContainerObservation | undefined>;
  /** createContainer returns the new container's ID. */
  createContainer(request: ContainerCreateRequest, signal?: AbortSignal): Promise<string>;
  /** startContainer succeeds when the container already runs. */
  startContainer(id: string, signal?: AbortSignal): Promise<void>;
  /** stopContainer succeeds when the container is already stopped; no timeout uses the container's StopTimeout. */
  stopContainer(id: string, timeoutSeconds: number | undefined, signal?: AbortSignal): Promise<void>;
  restartContainer(id: string, timeoutSeconds: number | undefined, signal?: AbortSignal): Promise<void>;
  unpauseContainer(id: string, signal?: AbortSignal): Promise<void>;
  /** tailLogs returns the last `lines` lines of a container's stdout and stderr, interleaved as written. */
  tailLogs(id: string, lines: number, signal?: AbortSignal): Promise<string>;
  /** removeContainer force-removes a container and its anonymous volumes; a missing one is not an error. */
  removeContainer(id: string, signal?: AbortSignal): Promise<void>;
  /** inspectImage returns undefined when no local image has that reference. */
  inspectImage(reference: string, signal?: AbortSignal): Promise<ImageObservation | undefined>;
  /** pullImage pulls and resolves when the pull has finished; a failed pull rejects with the daemon's message. */
  pullImage(reference: string, signal?: AbortSignal): Promise<void>;
  /**
   * streamEvents calls onEvent for every event until the stream ends (resolves) or fails (rejects).
   * `onOpen` is called once the daemon has accepted the subscription.
   */
  streamEvents(filters: EventFilters, onEvent: (e: DockerEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void>;
}

/** DockerErrorCode is one of the Docker codes of resources/errors.ts (where every code is listed and documented). */
export type DockerErrorCode = Extract<ErrorCode, 'DOCKER_UNAVAILABLE' | 'DOCKER_API_ERROR' | 'IMAGE_NOT_PRESENT' | 'IMAGE_PULL_FAILED'>;

/** DockerError is the base of this folder's errors; `code` is stable. */
export class DockerError extends SystemManagerError {
  declare readonly code: DockerErrorCode;
  constructor(code: DockerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** DockerUnavailableError: the engine did not answer (connection refused, socket missing, timeout). */
export class DockerUnavailableError extends DockerError {
  readonly endpoint: string;
  constructor(endpoint: string, detail: string, options?: { cause?: unknown }) {
    super('DOCKER_UNAVAILABLE', `cannot reach the Docker engine at ${endpoint}: ${detail}`, options);
    this.endpoint = endpoint;
  }
}

/** DockerApiError: the engine answered with an HTTP error; `daemonMessage` is its text. */
export class DockerApiError extends DockerError {
  readonly statusCode: number;
  readonly daemonMessage: string;
  constructor(operation: string, statusCode: number, daemonMessage: string, options?: { cause?: unknown }) {
    super('DOCKER_API_ERROR', `${operation}: ${daemonMessage} (HTTP ${statusCode})`, options);
    this.statusCode = statusCode;
    this.daemonMessage = daemonMessage;
  }
}

/** ImageNotPresentError: pullPolicy Never and the image is not in the local store. */
export class ImageNotPresentError extends DockerError {
  readonly reference: string;
  constructor(reference: string) {
    super('IMAGE_NOT_PRESENT', `image ${reference} is not present locally and pullPolicy is Never`);
    this.reference = reference;
  }
}

/** ImagePullError: the daemon could not pull the image; the message is the daemon's. */
export class ImagePullError extends DockerError {
  readonly reference: string;
  constructor(reference: string, daemonMessage: string, options?: { cause?: unknown }) {
    super('IMAGE_PULL_FAILED', `pulling ${reference} failed: ${daemonMessage}`, options);
    this.reference = reference;
  }
}

/** DEFAULT_DOCKER_SOCKET is where the engine listens unless told otherwise. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** DockerEngineOptions configure createDockerEngine. */
export interface DockerEngineOptions {
  /** socketPath: the engine's unix socket (default $DOCKER_SOCKET or /var/run/docker.sock). */
  socketPath?: string;
  /** callTimeoutMs: a call (other than a pull or the event stream) that takes longer fails as unavailable (default 30 s). */
  callTimeoutMs?: number;
  /** pullTimeoutMs: the longest a pull may take (default 10 min). */
  pullTimeoutMs?: number;
}

const TRANSPORT_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT', 'ENOTCONN', 'ECONNABORTED']);

/** createDockerEngine adapts dockerode to DockerEngine. */
export function createDockerEngine(opts: DockerEngineOptions = {}): DockerEngine {
  const socketPath = opts.socketPath ?? process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET;
  const docker = new Docker({ socketPath });
  const callTimeoutMs = opts.callTimeoutMs ?? 30_000;
  const pullTimeoutMs = opts.pullTimeoutMs ?? 600_000;

  // call joins the caller's signal with a per-call timeout and tells them apart afterwards, so a
  // timeout reads as "Docker did not answer" and a caller's abort stays an abort.
  const call = async <T>(operation: string, signal: AbortSignal | undefined, timeoutMs: number, fn: (s: AbortSignal) => Promise<T>): Promise<T> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const joined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    // Not every dockerode call honours abortSignal (image inspect does not), so race the signal too.
    let onAbort: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(joined.reason);
      if (joined.aborted) onAbort();
      else joined.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([fn(joined), aborted]);
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (timeout.aborted) throw new DockerUnavailableError(socketPath, `${operation}: no answer within ${timeoutMs} ms`, { cause: err });
      throw mapError(operation, socketPath, err);
    } finally {
      joined.removeEventListener('abort', onAbort);
    }
  };

  return {
    endpoint: socketPath,
    async ping(signal) {
      await call('ping', signal, callTimeoutMs, (s) => (docker.ping as (o: object) => Promise<unknown>)({ abortSignal: s }));
    },
    async listContainers(filters, signal) {
      const rows = await call('list containers', signal, callTimeoutMs, (s) =>
        docker.listContainers({ all: true, filters: JSON.stringify(filters), abortSignal: s }),
      );
      return rows.map((r) => ({ id: r.Id, name: (r.Names?.[0] ?? '').replace(/^\//, ''), labels: r.Labels ?? {}, state: r.State }));
    },
    async inspectContainer(id, signal) {
      try {
        const info = await call(`inspect container ${id}`, signal, callTimeoutMs, (s) => docker.getContainer(id).inspect({ abortSignal: s }));
        return toObservation(info);
      } catch (err) {
        if (err instanceof DockerApiError && err.statusCode === 404) return undefined;
        throw err;
      }
    },
    async createContainer(request, signal) {
      const c = await call(`create container ${request.name}`, signal, callTimeoutMs, (s) => docker.createContainer({ ...request, abortSignal: s }));
      return c.id;
    },
    async startContainer(id, signal) {
      await call(`start container ${id}`, signal, callTimeoutMs, (s) => docker.getContainer(id).start({ abortSignal: s }));
    },
    async stopContainer(id, timeoutSeconds, signal) {
      // The daemon waits up to the stop timeout before it answers: give the call that much longer.
      const budget = callTimeoutMs + (timeoutSeconds ?? 10) * 1000;
      try {
        await call(`stop container ${id}`, signal, budget, (s) =>
          docker.getContainer(id).stop({ ...(timeoutSeconds !== undefined ? { t: timeoutSeconds } : {}), abortSignal: s }),
        );
      } catch (err) {
        if (err instanceof DockerApiError && (err.statusCode === 304 || err.statusCode === 404)) return;
        throw err;
      }
    },
    async restartContainer(id, timeoutSeconds, signal) {
      const budget = callTimeoutMs + (timeoutSeconds ?? 10) * 1000;
      await call(`restart container ${id}`, signal, budget, (s) =>
        docker.getContainer(id).restart({ ...(timeoutSeconds !== undefined ? { t: timeoutSeconds } : {}), abortSignal: s }),
      );
    },
    async unpauseContainer(id, signal) {
      await call(`unpause container ${id}`, signal, callTimeoutMs, (s) => docker.getContainer(id).unpause({ abortSignal: s }));
    },
    async tailLogs(id, lines, signal) {
      const raw = await call(`logs of container ${id}`, signal, callTimeoutMs, (s) =>
        docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false, abortSignal: s }),
      );
      return demultiplex(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    },
    async removeContainer(id, signal) {
      try {
        await call(`remove container ${id}`, signal, callTimeoutMs, (s) => docker.getContainer(id).remove({ force: true, v: true, abortSignal: s }));
      } catch (err) {
        // 404: already gone; 409 "removal already in progress": the daemon finishes it.
        if (err instanceof DockerApiError && (err.statusCode === 404 || (err.statusCode === 409 && /already in progress/i.test(err.daemonMessage)))) return;
        throw err;
      }
    },
    async inspectImage(reference, signal) {
      try {
        const info = await call(`inspect image ${reference}`, signal, callTimeoutMs, () => docker.getImage(reference).inspect());
        return { id: info.Id, repoDigests: info.RepoDigests ?? [], size: info.Size ?? 0 };
      } catch (err) {
        if (err instanceof DockerApiError && err.statusCode === 404) return undefined;
        throw err;
      }
    },
    async pullImage(reference, signal) {
      try {
        await call(`pull ${reference}`, signal, pullTimeoutMs, async (s) => {
          const stream = (await docker.pull(reference, { abortSignal: s })) as NodeJS.ReadableStream;
          const output = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>((resolve, reject) =>
            docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out as never))),
          );
          // A pull that fails half-way answers 200 and reports the failure inside the progress stream.
          const failed = output.find((o) => o.error || o.errorDetail?.message);
          if (failed) throw new DockerApiError(`pull ${reference}`, 500, failed.errorDetail?.message ?? failed.error ?? 'unknown error');
        });
      } catch (err) {
        if (err instanceof DockerApiError) throw new ImagePullError(reference, err.daemonMessage, { cause: err });
        throw err;
      }
    },
    async streamEvents(filters, onEvent, signal, onOpen) {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await docker.getEvents({ filters: JSON.stringify(filters) as never, abortSignal: signal });
      } catch (err) {
        if (signal.aborted) return;
        throw mapError('subscribe to events', socketPath, err);
      }
      onOpen?.();
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        const finish = (err?: unknown) => {
          stream.removeAllListeners('data');
          if (err && !signal.aborted) reject(mapError('event stream', socketPath, err));
          else resolve();
        };
        stream.on('data', (chunk: Buffer | string) => {
          buf += chunk.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              const m = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; timeNano?: number };
              onEvent({ type: m.Type ?? '', action: m.Action ?? '', id: m.Actor?.ID ?? '', attributes: m.Actor?.Attributes ?? {}, timeNano: m.timeNano ?? 0 });
            } catch {
              // A line we cannot parse is skipped: the next resync covers anything it meant.
            }
          }
        });
        stream.once('end', () => finish());
        stream.once('close', () => finish());
        stream.once('error', (err: unknown) => finish(err));
      });
    },
  };
}

/**
 * demultiplex strips the 8-byte frame headers Docker puts on the logs of a container without a TTY
 * (stream type, three zero bytes, big-endian length); text that is not framed is returned as is.
 */
export function demultiplex(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && buf[i]! <= 2 && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  if (i < buf.length) parts.push(buf.subarray(i));
  return Buffer.concat(parts).toString('utf8');
}

const ZERO_TIME = /^0001-01-01/;

function toObservation(info: Docker.ContainerInspectInfo): ContainerObservation {
  const s = info.State;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    imageId: info.Image,
    labels: info.Config?.Labels ?? {},
    status: s.Status,
    running: s.Running,
    paused: s.Paused,
    restarting: s.Restarting,
    exitCode: s.ExitCode,
    error: s.Error ?? '',
    oomKilled: s.OOMKilled,
    ...(s.StartedAt && !ZERO_TIME.test(s.StartedAt) ? { startedAt: s.StartedAt } : {}),
    ...(s.FinishedAt && !ZERO_TIME.test(s.FinishedAt) ? { finishedAt: s.FinishedAt } : {}),
    ...(s.Health?.Status ? { health: s.Health.Status } : {}),
    restartCount: info.RestartCount ?? 0,
  };
}

/** mapError turns a dockerode failure into DockerApiError (HTTP) or DockerUnavailableError (transport). */
export function mapError(operation: string, endpoint: string, err: unknown): Error {
  if (err instanceof DockerError) return err;
  const e = err as { statusCode?: number; json?: { message?: string } | Buffer | null; reason?: string; code?: string; message?: string };
  if (typeof e?.statusCode === 'number') {
    const body = e.json && !Buffer.isBuffer(e.json) && typeof e.json === 'object' ? e.json.message : undefined;
    // For streamed endpoints (pull, events) dockerode leaves json empty and puts the daemon's text
    // after " - " in its message: "(HTTP code 500) server error - <daemon message> ".
    const fromMessage = /^\(HTTP code \d+\)[^-]*- ([\s\S]*)$/.exec(e.message ?? '')?.[1]?.trim();
    const text = body ?? (Buffer.isBuffer(e.json) ? e.json.toString().trim() : undefined) ?? (fromMessage || undefined) ?? e.reason ?? e.message ?? 'unknown error';
    return new DockerApiError(operation, e.statusCode, text, { cause: err });
  }
  if ((e?.code && TRANSPORT_CODES.has(e.code)) || /socket hang up|ECONNRESET|aborted/i.test(e?.message ?? '')) {
    return new DockerUnavailableError(endpoint, `${operation}: ${e.code ?? e.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}
