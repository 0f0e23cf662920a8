// The container controller: keeps Docker containers as the Container resources declare, the Docker
// Compose way (DESIGN §3). This folder may import resources/, controllers/runtime/ and
// controllers/image/ (the shared pull-policy logic), dockerode (in engine.ts only) and node builtins.
// Files: engine.ts (the Docker interface and its dockerode adapter), spec.ts (normal form, config
// hash, create request, policy), observe.ts (read-only), apply.ts (changes), reconciler.ts
// (decisions and status), drift.ts (Docker's event stream).

import { resourceKey } from '../../resources/kinds.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import { getCondition, type Controller, type ControllerManager, type ControllerOptions, type EventRecorder } from '../runtime/index.ts';
import { DriftWatcher } from './drift.ts';
import type { DockerEngine } from './engine.ts';
import { listManagedNames } from './observe.ts';
import { ContainerReconciler, type ContainerReconcilerOptions } from './reconciler.ts';
import type { ContainerPolicy, ContainerSpec } from './spec.ts';

export { createDockerEngine, DockerApiError, DockerUnavailableError, ImageNotPresentError, ImagePullError } from './engine.ts';
export type { ContainerObservation, DockerEngine, DockerEngineOptions, DockerEvent } from './engine.ts';
export { ContainerReconciler, ContainerReason, planAction } from './reconciler.ts';
export type { Action, ContainerReconcilerOptions, CrashLoopOptions, Plan } from './reconciler.ts';
export { DriftWatcher } from './drift.ts';
export { checkPolicy, configHash, LABEL_CONFIG_HASH, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_RESTARTED_AT, MANAGED_SELECTOR, normalizeSpec } from './spec.ts';
export type { ContainerPolicy, ContainerSpec, Ownership } from './spec.ts';

/** ContainerControllerOptions configure createContainerController. */
export interface ContainerControllerOptions
  extends Pick<ContainerReconcilerOptions, 'instance' | 'hostLabels' | 'now' | 'nameConflictRecheckMs' | 'dependencyRecheckMs' | 'healthRecheckMs' | 'portConflictRecheckMs' | 'crashLoop'> {
  store: ResourceStore;
  docker: DockerEngine;
  logger?: Logger;
  /** recorder: where events go (default the manager's recorder, which `describe` reads). */
  recorder?: EventRecorder;
  policy?: ContainerPolicy;
  /** controller: the runtime options (name `container`, kind Container; concurrency, timeouts, backoff, resync). */
  controller?: Partial<Omit<ControllerOptions, 'kind'>>;
  /** orphanScanMs: how often managed containers without a resource are looked for (default 5 min; 0 turns it off). */
  orphanScanMs?: number;
  /** driftBackoffBaseMs/driftBackoffMaxMs: resubscription backoff of the event stream (defaults 200 ms, 10 s). */
  driftBackoffBaseMs?: number;
  driftBackoffMaxMs?: number;
}

/** ContainerController is the running container controller. */
export interface ContainerController {
  readonly controller: Controller;
  readonly reconciler: ContainerReconciler;
  readonly drift: DriftWatcher;
  /** scanOrphans enqueues the names of managed containers that have no resource; it returns them. */
  scanOrphans(): Promise<string[]>;
  /** stop ends the event subscription, timers and store listeners (the manager is stopped separately). */
  stop(): Promise<void>;
}

/**
 * createContainerController registers the container controller with `manager` and starts following
 * Docker's event stream, so `serve` wires it in one call. Besides store events and the manager's
 * resync, keys are enqueued by: Docker events on managed containers (drift), every (re)subscription
 * to the event stream (everything, since events in the gap are lost), a periodic scan and the
 * source becoming prunable (orphans), a dependency's status change (its dependents), and an Image's
 * new ID (the containers using it).
 */
export function createContainerController(manager: ControllerManager, opts: ContainerControllerOptions): ContainerController {
  const { store, docker } = opts;
  const log = (opts.logger ?? silentLogger).child({ controller: opts.controller?.name ?? 'container' });
  const reconciler = new ContainerReconciler({
    store,
    engine: docker,
    logger: log,
    recorder: opts.recorder ?? manager.recorder,
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.instance ? { instance: opts.instance } : {}),
    ...(opts.hostLabels ? { hostLabels: opts.hostLabels } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.nameConflictRecheckMs !== undefined ? { nameConflictRecheckMs: opts.nameConflictRecheckMs } : {}),
    ...(opts.dependencyRecheckMs !== undefined ? { dependencyRecheckMs: opts.dependencyRecheckMs } : {}),
    ...(opts.healthRecheckMs !== undefined ? { healthRecheckMs: opts.healthRecheckMs } : {}),
    ...(opts.portConflictRecheckMs !== undefined ? { portConflictRecheckMs: opts.portConflictRecheckMs } : {}),
    ...(opts.crashLoop ? { crashLoop: opts.crashLoop } : {}),
  });
  // A recreate waits for the old container's stopTimeout, so the deadline is longer than the
  // runtime's 60 s default.
  const controller = manager.add({ name: 'container', timeoutMs: 5 * 60_000, ...opts.controller, kind: 'Container' }, reconciler);
  const ownership = opts.instance ? { instance: opts.instance } : {};
  const enqueueName = (name: string) => controller.enqueue(resourceKey('Container', name));

  const scanOrphans = async (): Promise<string[]> => {
    try {
      const orphans = [...(await listManagedNames(docker, undefined, ownership))].filter((n) => !store.get('Container', n));
      for (const n of orphans) enqueueName(n);
      return orphans;
    } catch (err) {
      log.debug('orphan scan failed; the next scan or resubscription tries again', { error: err as Error });
      return [];
    }
  };

  const drift = new DriftWatcher({
    engine: docker,
    logger: log,
    ownership,
    ...(opts.driftBackoffBaseMs !== undefined ? { backoffBaseMs: opts.driftBackoffBaseMs } : {}),
    ...(opts.driftBackoffMaxMs !== undefined ? { backoffMaxMs: opts.driftBackoffMaxMs } : {}),
    onDrift: (name) => enqueueName(name),
    onSubscribed: () => {
      for (const o of store.list('Container')) enqueueName(o.metadata.name);
      void scanOrphans();
    },
  });

  const unwatch = store.watch((event) => {
    if (event.kind === 'Container' && event.statusChanged && getCondition(event.object.status, 'Ready')?.status === 'True') {
      // A dependency became (or stayed) Ready: wake the dependents still waiting for it.
      for (const o of store.list('Container')) {
        const deps = (o.spec as unknown as ContainerSpec).dependsOn ?? [];
        if (deps.includes(event.name) && getCondition(o.status, 'Ready')?.status !== 'True') enqueueName(o.metadata.name);
      }
    }
    if (event.kind === 'Image' && event.statusChanged) {
      // An Image resource pulled a new ID: containers made from the old one are recreated.
      const reference = (event.object.spec as { reference?: string }).reference;
      for (const o of store.list('Container')) if ((o.spec as unknown as ContainerSpec).image === reference) enqueueName(o.metadata.name);
    }
  });
  const unwatchSource = store.onSourceState((s) => {
    if (s.pruneAllowed) void scanOrphans();
  });
  const scanMs = opts.orphanScanMs ?? 5 * 60_000;
  const timer = scanMs > 0 ? setInterval(() => void scanOrphans(), scanMs) : undefined;
  timer?.unref();
  drift.start();

  return {
    controller,
    reconciler,
    drift,
    scanOrphans,
    async stop() {
      clearInterval(timer);
      unwatch();
      unwatchSource();
      await drift.stop();
    },
  };
}
