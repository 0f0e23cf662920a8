// Making an image present per its pull policy. Shared by the Image controller and the Container
// controller, so `Never`, `IfNotPresent` and `Always` mean the same thing for both.

import { ImageNotPresentError, type DockerEngine, type ImageObservation } from '../container/engine.ts';
import type { PullPolicy } from '../container/spec.ts';
import { observeImage } from './observe.ts';

/** ImagePresence is the outcome of ensureImage. */
export interface ImagePresence {
  image: ImageObservation;
  /** pulledAt: set when this call pulled the image. */
  pulledAt?: string;
}

/**
 * ensureImage makes `reference` present according to `policy`:
 * - `Never`: never pulls; a missing image throws ImageNotPresentError;
 * - `IfNotPresent` (the default): pulls only when the image is missing;
 * - `Always`: pulls every time it is called (callers decide how often that is).
 * A failed pull throws ImagePullError with the daemon's message; an unreachable engine throws
 * DockerUnavailableError. Nothing is retried here: the caller's controller backs off.
 */
export async function ensureImage(
  engine: DockerEngine,
  reference: string,
  policy: PullPolicy = 'IfNotPresent',
  signal?: AbortSignal,
  now: () => Date = () => new Date(),
): Promise<ImagePresence> {
  if (policy !== 'Always') {
    const present = await observeImage(engine, reference, signal);
    if (present) return { image: present };
    if (policy === 'Never') throw new ImageNotPresentError(reference);
  }
  await engine.pullImage(reference, signal);
  const pulledAt = now().toISOString();
  const image = await observeImage(engine, reference, signal);
  // The daemon said the pull worked but cannot find the image: report it as the pull failing.
  if (!image) throw new ImageNotPresentError(reference);
  return { image, pulledAt };
}
