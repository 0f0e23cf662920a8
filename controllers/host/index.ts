// The Host controller: observes this machine (os, cpu, memory, load, disks, interfaces, Docker) into
// the status of this agent's Host resource, and offers the on-demand, cached process and connection
// lists that read tools use. Imports controllers/runtime and resources/ only.

import type { Labels } from '../../resources/types.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Controller, ControllerManager } from '../runtime/index.ts';
import { CachedHostReader, SystemHostReader, type HostReader } from './observe.ts';
import { HostReconciler, type DockerSummary } from './reconciler.ts';

export { CachedHostReader, SystemHostReader } from './observe.ts';
export type { ConnectionInfo, HostReader, HostSnapshot, NetworkCounters, ProcessInfo } from './observe.ts';
export { HostReconciler } from './reconciler.ts';
export type { DockerSummary, HostReconcilerOptions } from './reconciler.ts';

/** HostControllerOptions configure createHostController. */
export interface HostControllerOptions {
  store: ResourceStore;
  hostName: string;
  labels?: Labels;
  intervalMs?: number;
  reader?: HostReader;
  docker?: () => Promise<DockerSummary>;
}

/** createHostController registers the Host controller and returns it with the cached reader read tools should use. */
export function createHostController(
  manager: ControllerManager,
  opts: HostControllerOptions,
): { controller: Controller; reconciler: HostReconciler; reader: HostReader } {
  const reader = opts.reader ?? new CachedHostReader(new SystemHostReader());
  const reconciler = new HostReconciler({ ...opts, reader });
  const controller = manager.add({ name: 'host', kind: 'Host', concurrency: 1, timeoutMs: 30_000, resyncMs: 0 }, reconciler);
  // The Host is created once the manifests have loaded, so a Host declared in git wins.
  const ensure = () => {
    if (opts.store.sourceState.synced) reconciler.ensureHost();
  };
  opts.store.onSourceState(ensure);
  ensure();
  return { controller, reconciler, reader };
}

/** sanitizeHostName turns a machine's hostname into a DNS-1123 label for its Host resource. */
export function sanitizeHostName(hostname: string): string {
  const label = hostname.toLowerCase().split('.')[0]!.replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return label || 'localhost';
}
