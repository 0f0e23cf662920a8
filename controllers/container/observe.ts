// Reading the containers the Docker engine holds for a Container resource. Read-only: nothing here
// changes the host; apply.ts does.

import type { ContainerObservation, ContainerSummary, DockerEngine } from './engine.ts';
import { isOwned, LABEL_NAME, ownershipFilters, type Ownership } from './spec.ts';

/** ContainerView is everything the reconciler needs to know about one name on the engine. */
export interface ContainerView {
  /** managed: our containers labelled with this name (normally none or one), inspected. */
  managed: ContainerObservation[];
  /** clash: an unmanaged container that holds the Docker name, which we must never touch. */
  clash?: ContainerSummary;
}

/** observeContainer lists and inspects what the engine holds under the Docker name and the ownership label. */
export async function observeContainer(engine: DockerEngine, name: string, signal?: AbortSignal, ownership: Ownership = {}): Promise<ContainerView> {
  const [labelled, named] = await Promise.all([
    engine.listContainers({ label: [...ownershipFilters(ownership), `${LABEL_NAME}=${name}`] }, signal),
    // Docker's name filter is a regular expression over "/name".
    engine.listContainers({ name: [`^/${escapeRegExp(name)}$`] }, signal),
  ]);
  const holder = named.find((c) => c.name === name);
  const clash = holder && !isOwned(holder.labels, ownership, name) ? holder : undefined;
  const managed: ContainerObservation[] = [];
  for (const c of labelled) {
    const info = await engine.inspectContainer(c.id, signal);
    if (info && isOwned(info.labels, ownership, name)) managed.push(info);
  }
  return { managed, ...(clash ? { clash } : {}) };
}

/** listManagedNames returns the resource names of every managed container on the engine. */
export async function listManagedNames(engine: DockerEngine, signal?: AbortSignal, ownership: Ownership = {}): Promise<Set<string>> {
  const rows = await engine.listContainers({ label: ownershipFilters(ownership) }, signal);
  const names = new Set<string>();
  for (const r of rows) if (isOwned(r.labels, ownership)) names.add(r.labels[LABEL_NAME]!);
  return names;
}

/** ContainerStatusFields are the kind-specific status fields of a Container. */
export interface ContainerStatusFields {
  containerID?: string;
  imageID?: string;
  state: string;
  health?: string;
  restartCount?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  configHash?: string;
}

/** statusFields renders an observation (or its absence) as status fields. */
export function statusFields(c: ContainerObservation | undefined, hash: string | undefined): ContainerStatusFields {
  if (!c) return { state: 'missing', ...(hash ? { configHash: hash } : {}) };
  return {
    containerID: c.id,
    imageID: c.imageId,
    state: c.status,
    health: c.health ?? 'none',
    restartCount: c.restartCount,
    ...(c.startedAt ? { startedAt: c.startedAt } : {}),
    ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
    ...(c.startedAt && !c.running && c.finishedAt ? { exitCode: c.exitCode } : {}),
    ...(c.labels['io.systemmanager.config-hash'] ? { configHash: c.labels['io.systemmanager.config-hash'] } : {}),
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
