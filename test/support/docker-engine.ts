// Helpers for tests and benchmarks that drive the container controller against a real Docker engine
// (DESIGN §10): a controller rig on the real ResourceStore and ControllerManager, scoped to a unique
// instance label so runs never adopt or prune each other's containers; a cleanup that removes every
// container of that instance; and FaultDaemon, a second dockerd on its own socket and directories
// that a test may kill and restart without disturbing the shared engine.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import Docker from 'dockerode';
import { createContainerController, type ContainerController, type ContainerControllerOptions } from '../../controllers/container/index.ts';
import { createDockerEngine, type DockerEngine } from '../../controllers/container/engine.ts';
import { LABEL_INSTANCE, type ContainerSpec } from '../../controllers/container/spec.ts';
import { createImageController } from '../../controllers/image/index.ts';
import { ControllerManager, getCondition, MemoryEventRecorder } from '../../controllers/runtime/index.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import { ResourceStore } from '../../resources/store.ts';
import type { Condition, Resource } from '../../resources/types.ts';
import { DOCKER_SOCKET, TEST_IMAGE, dockerAvailable } from './parts.ts';

const run = promisify(execFile);

/** FOREVER runs until stopped and exits at once on SIGTERM (PID 1 gets no default signal handlers). */
export const FOREVER = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1 & wait $!; done'];

/** newInstance returns a label value unique to this run (and a name prefix derived from it). */
export function newInstance(tag = 'it'): string {
  return `sm-${tag}-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** removeInstanceContainers force-removes every container labelled with `instance` on the engine at socketPath. */
export async function removeInstanceContainers(instance: string, socketPath: string = DOCKER_SOCKET): Promise<number> {
  const docker = new Docker({ socketPath });
  const rows = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_INSTANCE}=${instance}`] }) });
  await Promise.all(rows.map((r) => docker.getContainer(r.Id).remove({ force: true, v: true }).catch(() => {})));
  return rows.length;
}

/** ControllerRig is a running container (and image) controller on a fresh store, for one test. */
export interface ControllerRig {
  store: ResourceStore;
  manager: ControllerManager;
  engine: DockerEngine;
  handle: ContainerController;
  recorder: MemoryEventRecorder;
  /** docker: a separate client, to act behind the controller's back and to inspect. */
  docker: Docker;
  instance: string;
  /** name: a resource (and container) name unique to this rig. */
  name(short: string): string;
  apply(name: string, spec: Partial<ContainerSpec>): Resource;
  conditions(name: string): Condition[];
  ready(name: string): Condition | undefined;
}

/** RigOptions adjust startRig. */
export interface RigOptions extends Partial<Omit<ContainerControllerOptions, 'store' | 'docker'>> {
  socketPath?: string;
  logger?: Logger;
  /** pruneAllowed: the source state to start with (default true: synced, not empty). */
  pruneAllowed?: boolean;
  /** cleanup: remove the instance's containers after the test (default true). */
  cleanup?: boolean;
}

/** startRig starts a ControllerManager with the container and image controllers; everything stops and is removed in t.after. */
export async function startRig(t: TestContext | undefined, opts: RigOptions = {}): Promise<ControllerRig & { stop(): Promise<void> }> {
  const socketPath = opts.socketPath ?? DOCKER_SOCKET;
  const instance = opts.instance ?? newInstance();
  const store = await ResourceStore.open();
  const allowed = opts.pruneAllowed ?? true;
  store.setSourceState({ synced: true, empty: !allowed, pruneAllowed: allowed, ...(allowed ? {} : { message: 'test: pruning not allowed' }) });
  const logger = opts.logger ?? silentLogger;
  const recorder = new MemoryEventRecorder();
  const manager = new ControllerManager({ store, logger, recorder, shutdownGraceMs: 2000 });
  const engine = createDockerEngine({ socketPath, callTimeoutMs: 10_000 });
  const { socketPath: _s, logger: _l, pruneAllowed: _p, cleanup: _c, ...rest } = opts;
  const handle = createContainerController(manager, {
    crashLoop: { minUptimeMs: 3000, backoffBaseMs: 500, backoffMaxMs: 8000 },
    dependencyRecheckMs: 500,
    healthRecheckMs: 500,
    ...rest,
    controller: { backoffBaseMs: 100, backoffMaxMs: 2000, resyncMs: 0, ...(opts.controller ?? {}) },
    store,
    docker: engine,
    logger,
    instance,
  });
  createImageController(manager, { store, docker: engine, logger, controller: { backoffBaseMs: 100, backoffMaxMs: 2000 } });
  manager.start();
  const prefix = instance.replace(/^sm-/, '');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await handle.stop();
    await manager.stop();
    if (opts.cleanup ?? true) await removeInstanceContainers(instance, socketPath).catch(() => {});
    await store.close();
  };
  t?.after(stop);
  const rig: ControllerRig & { stop(): Promise<void> } = {
    store,
    manager,
    engine,
    handle,
    recorder,
    // A timeout, so a wedged daemon fails the test instead of hanging it.
    docker: new Docker({ socketPath, timeout: 15_000 }),
    instance,
    name: (short) => `${prefix}-${short}`,
    apply: (name, spec) =>
      store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name }, spec: { image: TEST_IMAGE, command: FOREVER, ...spec } }).object,
    conditions: (name) => (store.get('Container', name)?.status?.conditions ?? []) as Condition[],
    ready: (name) => getCondition(store.get('Container', name)?.status, 'Ready'),
    stop,
  };
  return rig;
}

/** processesNaming lists the PIDs of processes whose command line mentions dir. */
async function processesNaming(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg === dir || arg.includes(`${dir}/`))) pids.push(Number(entry));
  }
  return pids;
}

/** descendantsOf lists every process below the given ones (children, grandchildren, ...). */
async function descendantsOf(roots: number[]): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 is the parent PID; the command name (field 2) may contain spaces, so parse after ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parentOf.set(Number(entry), ppid);
  }
  const found = new Set<number>();
  let frontier = new Set(roots);
  while (frontier.size) {
    const next = new Set<number>();
    for (const [pid, ppid] of parentOf) if (frontier.has(ppid) && !found.has(pid)) next.add(pid);
    for (const pid of next) found.add(pid);
    frontier = next;
  }
  return [...found];
}

/** mountsUnder lists the mount points at or below dir, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** containersNamed lists containers (any state) whose Docker name is exactly `name`. */
export async function containersNamed(docker: Docker, name: string): Promise<Docker.ContainerInfo[]> {
  const rows = await docker.listContainers({ all: true, filters: JSON.stringify({ name: [`^/${name}$`] }) });
  return rows.filter((r) => r.Names.includes(`/${name}`));
}

/**
 * FaultDaemon is a second dockerd with its own socket, data root, exec root and pidfile (and so its
 * own containerd), started with the same safe flags as scripts/start-dockerd.sh, holding the test
 * image. A test can kill and restart it freely.
 */
export class FaultDaemon {
  readonly dir: string;
  readonly socketPath: string;
  private child: ChildProcess | undefined;

  constructor(dir = `/tmp/sm-fault-${process.pid}-${randomBytes(2).toString('hex')}`) {
    this.dir = dir;
    this.socketPath = join(dir, 'docker.sock');
  }

  /** start launches dockerd and resolves once it answers (and, the first time, holds the test image). */
  async start(timeoutMs = 30_000): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const log = await open(join(this.dir, 'dockerd.log'), 'a');
    this.child = spawn(
      'dockerd',
      [
        `--host=unix://${this.socketPath}`,
        `--data-root=${join(this.dir, 'data')}`,
        `--exec-root=${join(this.dir, 'exec')}`,
        `--pidfile=${join(this.dir, 'docker.pid')}`,
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        '--ip-forward=false',
        '--storage-driver=vfs',
      ],
      { stdio: ['ignore', log.fd, log.fd], detached: true },
    );
    this.child.unref();
    await log.close();
    const deadline = Date.now() + timeoutMs;
    while (!(await dockerAvailable(this.socketPath))) {
      if (this.child.exitCode !== null) throw new Error(`fault dockerd exited with ${this.child.exitCode}; see ${join(this.dir, 'dockerd.log')}`);
      if (Date.now() > deadline) throw new Error(`fault dockerd did not answer within ${timeoutMs} ms; see ${join(this.dir, 'dockerd.log')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const docker = new Docker({ socketPath: this.socketPath });
    const have = await docker.getImage(TEST_IMAGE).inspect().then(() => true, () => false);
    if (!have) {
      // The same recipe as DESIGN §10; every path here is ours, nothing comes from outside.
      const root = join(this.dir, 'image-root');
      await run('sh', ['-c', `mkdir -p "${root}/bin" && cp /bin/busybox "${root}/bin/" && ln -sf busybox "${root}/bin/sh" && tar -C "${root}" -c . | docker -H "unix://${this.socketPath}" import - ${TEST_IMAGE}`]);
    }
  }

  /** pid is dockerd's process ID while it runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** kill sends `signal` to dockerd and waits until it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`fault dockerd did not exit within ${timeoutMs} ms`)), timeoutMs))]);
  }

  /** destroy stops dockerd (and with it its containerd and containers) and removes its directory. */
  async destroy(): Promise<void> {
    if (this.pid) {
      try {
        const docker = new Docker({ socketPath: this.socketPath });
        const rows = await docker.listContainers({ all: true });
        await Promise.all(rows.map((r) => docker.getContainer(r.Id).remove({ force: true }).catch(() => {})));
      } catch {
        // The daemon is not answering: stopping it is all we can do.
      }
    }
    await this.kill('SIGTERM').catch(() => this.kill('SIGKILL'));
    // containerd exits shortly after dockerd; give it a moment before removing its state.
    await new Promise((r) => setTimeout(r, 500));
    // A daemon that was SIGKILLed can leave its containerd and shims behind: they all name this
    // directory on their command line, so they are found (and ended) by that, one PID at a time —
    // with their containers' processes, which do not name it and, once their root file system is
    // removed below, would spin (their `sleep` can no longer be executed) until the machine restarts.
    const daemonParts = await processesNaming(this.dir);
    for (const pid of [...(await descendantsOf(daemonParts)), ...daemonParts]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // dockerd bind-mounts its data root onto itself; a daemon that was SIGKILLed leaves that mount.
    for (const target of await mountsUnder(this.dir)) await run('umount', ['-l', target]).catch(() => {});
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}
