// FakeDockerEngine: an in-memory DockerEngine for unit tests of the container and image controllers.
// It keeps containers and images, answers like the daemon does where the controllers care (404 for a
// missing object, 409 for a taken name, 304-style no-ops for start/stop), records every changing
// call, and can be told to be unreachable, to fail a call, or to have a container exit at once.

import { randomBytes } from 'node:crypto';
import {
  DockerApiError,
  DockerUnavailableError,
  ImagePullError,
  type ContainerCreateRequest,
  type ContainerObservation,
  type ContainerSummary,
  type DockerEngine,
  type DockerEvent,
  type EventFilters,
  type ImageObservation,
} from '../../controllers/container/engine.ts';

/** FakeContainer is a container held by the fake engine. */
export interface FakeContainer {
  id: string;
  name: string;
  request: ContainerCreateRequest;
  imageId: string;
  status: 'created' | 'running' | 'exited' | 'restarting' | 'paused';
  startedAt?: string;
  finishedAt?: string;
  exitCode: number;
  health?: string;
  restartCount: number;
}

/** FakeDockerEngine implements DockerEngine in memory. */
export class FakeDockerEngine implements DockerEngine {
  readonly endpoint = '/fake/docker.sock';
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Map<string, ImageObservation>();
  /** calls: every changing call, as `create <name>`, `start <name>`, `stop <name>`, `restart <name>`, `remove <name>`, `pull <ref>`. */
  readonly calls: string[] = [];
  /** available: false makes every call fail as DockerUnavailableError. */
  available = true;
  /** exitOnStart: names whose containers exit with code 1 right after each start. */
  readonly exitOnStart = new Set<string>();
  /** pullable: references a pull succeeds for (anything else fails like an unreachable registry). */
  readonly pullable = new Map<string, string>();
  /** before: called at the start of every call of an operation (`create`, `stop`, ...), to look at the world mid-reconcile. */
  readonly before = new Map<string, () => void>();
  /** failures: the next call of an operation (`create`, `start`, ...) throws this error once. */
  readonly failures = new Map<string, Error>();
  now: () => Date = () => new Date();
  private readonly listeners = new Set<(e: DockerEvent) => void>();

  /** addImage makes a reference present with the given ID. */
  addImage(reference: string, id = `sha256:${randomBytes(32).toString('hex')}`): string {
    this.images.set(reference, { id, repoDigests: [], size: 1234 });
    return id;
  }

  /** addUnmanaged adds a container that does not carry our labels. */
  addUnmanaged(name: string, labels: Record<string, string> = {}): FakeContainer {
    const c: FakeContainer = {
      id: randomBytes(32).toString('hex'),
      name,
      request: { name, Image: 'other', Labels: labels },
      imageId: 'sha256:other',
      status: 'running',
      startedAt: this.now().toISOString(),
      exitCode: 0,
      restartCount: 0,
    };
    this.containers.set(c.id, c);
    return c;
  }

  /** byName finds a container by Docker name. */
  byName(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.name === name);
  }

  /** emit delivers an event to the subscribers of streamEvents. */
  emit(action: string, c: FakeContainer): void {
    const e: DockerEvent = { type: 'container', action, id: c.id, attributes: { ...(c.request.Labels ?? {}), name: c.name }, timeNano: Date.now() * 1e6 };
    for (const l of this.listeners) l(e);
  }

  /** crash makes a running container exit behind the controller's back. */
  crash(name: string, exitCode = 137): void {
    const c = this.byName(name);
    if (!c) throw new Error(`no container ${name}`);
    c.status = 'exited';
    c.exitCode = exitCode;
    c.finishedAt = this.now().toISOString();
    this.emit('die', c);
  }

  async ping(): Promise<void> {
    this.check('ping');
  }

  async listContainers(filters: Record<string, string[]>): Promise<ContainerSummary[]> {
    this.check('list');
    return [...this.containers.values()]
      .filter((c) => (filters.label ?? []).every((f) => matchLabel(c.request.Labels ?? {}, f)))
      .filter((c) => (filters.name ?? []).every((re) => new RegExp(re).test(`/${c.name}`)))
      .map((c) => ({ id: c.id, name: c.name, labels: { ...(c.request.Labels ?? {}) }, state: c.status }));
  }

  async inspectContainer(id: string): Promise<ContainerObservation | undefined> {
    this.check('inspect');
    const c = this.containers.get(id);
    if (!c) return undefined;
    return {
      id: c.id,
      name: c.name,
      imageId: c.imageId,
      labels: { ...(c.request.Labels ?? {}) },
      status: c.status,
      running: c.status === 'running' || c.status === 'paused',
      paused: c.status === 'paused',
      restarting: c.status === 'restarting',
      exitCode: c.exitCode,
      error: '',
      oomKilled: false,
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
      ...(c.health ? { health: c.health } : {}),
      restartCount: c.restartCount,
    };
  }

  async createContainer(request: ContainerCreateRequest): Promise<string> {
    this.check('create');
    if (this.byName(request.name)) throw new DockerApiError(`create container ${request.name}`, 409, `Conflict. The container name "/${request.name}" is already in use`);
    const image = this.images.get(request.Image ?? '');
    if (!image) throw new DockerApiError(`create container ${request.name}`, 404, `No such image: ${request.Image}`);
    const c: FakeContainer = { id: randomBytes(32).toString('hex'), name: request.name, request: structuredClone(request), imageId: image.id, status: 'created', exitCode: 0, restartCount: 0 };
    this.containers.set(c.id, c);
    this.calls.push(`create ${c.name}`);
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    this.check('start');
    const c = this.get(id, 'start');
    if (c.status === 'running') return;
    c.status = 'running';
    c.startedAt = this.now().toISOString();
    delete c.finishedAt;
    if (c.request.Healthcheck) c.health = 'starting';
    this.calls.push(`start ${c.name}`);
    this.emit('start', c);
    if (this.exitOnStart.has(c.name)) {
      c.status = 'exited';
      c.exitCode = 1;
      c.finishedAt = new Date(Date.parse(c.startedAt) + 5).toISOString();
      this.emit('die', c);
    }
  }

  async stopContainer(id: string): Promise<void> {
    this.check('stop');
    const c = this.containers.get(id);
    if (!c || (c.status !== 'running' && c.status !== 'paused')) return;
    c.status = 'exited';
    c.exitCode = 0;
    c.finishedAt = this.now().toISOString();
    this.calls.push(`stop ${c.name}`);
    this.emit('die', c);
  }

  async restartContainer(id: string): Promise<void> {
    this.check('restart');
    const c = this.get(id, 'restart');
    c.status = 'running';
    c.startedAt = this.now().toISOString();
    this.calls.push(`restart ${c.name}`);
    this.emit('restart', c);
  }

  async unpauseContainer(id: string): Promise<void> {
    this.check('unpause');
    const c = this.get(id, 'unpause');
    if (c.status !== 'paused') throw new DockerApiError(`unpause container ${id}`, 409, `Container ${id} is not paused`);
    c.status = 'running';
    this.calls.push(`unpause ${c.name}`);
    this.emit('unpause', c);
  }

  /** logs: what tailLogs returns per container name. */
  readonly logs = new Map<string, string>();

  async tailLogs(id: string): Promise<string> {
    this.check('logs');
    return this.logs.get(this.get(id, 'logs').name) ?? '';
  }

  async removeContainer(id: string): Promise<void> {
    this.check('remove');
    const c = this.containers.get(id);
    if (!c) return;
    this.containers.delete(id);
    this.calls.push(`remove ${c.name}`);
    this.emit('destroy', c);
  }

  async inspectImage(reference: string): Promise<ImageObservation | undefined> {
    this.check('inspectImage');
    const i = this.images.get(reference);
    return i ? { ...i } : undefined;
  }

  async pullImage(reference: string): Promise<void> {
    this.check('pull');
    this.calls.push(`pull ${reference}`);
    const id = this.pullable.get(reference);
    if (!id) throw new ImagePullError(reference, `Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid: no such host`);
    this.images.set(reference, { id, repoDigests: [`${reference.split(':')[0]}@sha256:${'a'.repeat(64)}`], size: 99 });
  }

  async streamEvents(_filters: EventFilters, onEvent: (e: DockerEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
    this.check('events');
    this.listeners.add(onEvent);
    onOpen?.();
    await new Promise<void>((resolve) => {
      const end = () => {
        this.listeners.delete(onEvent);
        this.endStreams.delete(end);
        resolve();
      };
      this.endStreams.add(end);
      signal.addEventListener('abort', end, { once: true });
    });
  }

  /** endStreams: calling each ends an open event stream, as a daemon restart does. */
  readonly endStreams = new Set<() => void>();

  private get(id: string, op: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new DockerApiError(`${op} container ${id}`, 404, `No such container: ${id}`);
    return c;
  }

  private check(op: string): void {
    this.before.get(op)?.();
    if (!this.available) throw new DockerUnavailableError(this.endpoint, `${op}: connect ECONNREFUSED ${this.endpoint}`);
    const f = this.failures.get(op);
    if (f) {
      this.failures.delete(op);
      throw f;
    }
  }
}

function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  return eq < 0 ? Object.hasOwn(labels, filter) : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
