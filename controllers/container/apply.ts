// Changing containers on the Docker engine: create, start, stop, restart, remove. Every function
// here acts only on a container the caller has already established is ours (observe.ts); nothing
// here decides what to do.

import type { DockerEngine } from './engine.ts';
import { buildCreateRequest, stopTimeoutSeconds, type ContainerSpec, type Ownership } from './spec.ts';

/** createContainer creates (but does not start) the container for `name`; it returns the new ID. */
export function createContainer(engine: DockerEngine, name: string, spec: ContainerSpec, signal?: AbortSignal, ownership: Ownership = {}): Promise<string> {
  return engine.createContainer(buildCreateRequest(name, spec, ownership), signal);
}

/** startContainer starts a container; starting a running one is a no-op. */
export function startContainer(engine: DockerEngine, id: string, signal?: AbortSignal): Promise<void> {
  return engine.startContainer(id, signal);
}

/** stopContainer stops a container with the spec's stopTimeout (or the container's own when no spec is known). */
export function stopContainer(engine: DockerEngine, id: string, spec: ContainerSpec | undefined, signal?: AbortSignal): Promise<void> {
  return engine.stopContainer(id, spec ? stopTimeoutSeconds(spec) : undefined, signal);
}

/** restartContainer stops (with the spec's stopTimeout) and starts a container, keeping its ID. */
export function restartContainer(engine: DockerEngine, id: string, spec: ContainerSpec, signal?: AbortSignal): Promise<void> {
  return engine.restartContainer(id, stopTimeoutSeconds(spec), signal);
}

/** unpauseContainer resumes a paused container. */
export function unpauseContainer(engine: DockerEngine, id: string, signal?: AbortSignal): Promise<void> {
  return engine.unpauseContainer(id, signal);
}

/** removeContainer stops a container gracefully, then removes it (and its anonymous volumes). */
export async function removeContainer(engine: DockerEngine, id: string, spec: ContainerSpec | undefined, signal?: AbortSignal): Promise<void> {
  await stopContainer(engine, id, spec, signal);
  await engine.removeContainer(id, signal);
}
