// The image controller: keeps the images Image resources name present on the Docker engine per
// their pull policy (IfNotPresent, Always, Never). The container controller uses the same logic
// (apply.ts ensureImage) for a Container's own image. This folder may import resources/,
// controllers/runtime/, the Docker interface in controllers/container/engine.ts and node builtins.

import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Controller, ControllerManager, ControllerOptions, EventRecorder } from '../runtime/index.ts';
import type { DockerEngine } from '../container/engine.ts';
import { ImageReconciler } from './reconciler.ts';

export { ensureImage } from './apply.ts';
export type { ImagePresence } from './apply.ts';
export { observeImage } from './observe.ts';
export { ImageReconciler } from './reconciler.ts';
export type { ImageReconcilerOptions, ImageSpec } from './reconciler.ts';

/** ImageControllerOptions configure createImageController. */
export interface ImageControllerOptions {
  store: ResourceStore;
  docker: DockerEngine;
  logger?: Logger;
  recorder?: EventRecorder;
  hostLabels?: () => Record<string, string> | undefined;
  now?: () => Date;
  /** controller: runtime options (name `image`, kind Image). */
  controller?: Partial<Omit<ControllerOptions, 'kind'>>;
}

/** createImageController registers the image controller with `manager`. */
export function createImageController(manager: ControllerManager, opts: ImageControllerOptions): { controller: Controller; reconciler: ImageReconciler } {
  const reconciler = new ImageReconciler({
    store: opts.store,
    engine: opts.docker,
    logger: (opts.logger ?? silentLogger).child({ controller: opts.controller?.name ?? 'image' }),
    recorder: opts.recorder ?? manager.recorder,
    ...(opts.hostLabels ? { hostLabels: opts.hostLabels } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const controller = manager.add({ name: 'image', ...opts.controller, kind: 'Image' }, reconciler);
  return { controller, reconciler };
}
