// Reading what the Docker engine holds about an image. Read-only: nothing here changes the host.

import type { DockerEngine, ImageObservation } from '../container/engine.ts';

/** observeImage returns the local image a reference names, or undefined when it is not present. */
export function observeImage(engine: DockerEngine, reference: string, signal?: AbortSignal): Promise<ImageObservation | undefined> {
  return engine.inspectImage(reference, signal);
}

/** digestOf picks the repository digest (`repo@sha256:...`) matching the reference's repository, if any. */
export function digestOf(image: ImageObservation, reference: string): string | undefined {
  const repo = repositoryOf(reference);
  return image.repoDigests.find((d) => d.slice(0, d.indexOf('@')) === repo) ?? image.repoDigests[0];
}

/** repositoryOf strips the tag and digest from a reference (a registry port's colon is kept). */
export function repositoryOf(reference: string): string {
  const at = reference.indexOf('@');
  const noDigest = at >= 0 ? reference.slice(0, at) : reference;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}
