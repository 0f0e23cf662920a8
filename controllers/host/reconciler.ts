// The Host reconciler: keeps the status of this agent's own Host resource fresh. It changes nothing
// on the machine; "reconcile" here means observe and report, on an interval.

import { API_VERSION, resourceKey } from '../../resources/kinds.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Labels } from '../../resources/types.ts';
import { beginStatus, markNotReady, markReady, type Reconciler, type Result } from '../runtime/index.ts';
import type { HostReader } from './observe.ts';

/** DockerSummary is what the Host status says about the Docker engine. */
export interface DockerSummary {
  available: boolean;
  version?: string;
  containers?: number;
  containersRunning?: number;
  images?: number;
  message?: string;
}

/** HostReconcilerOptions configure the Host reconciler. */
export interface HostReconcilerOptions {
  store: ResourceStore;
  reader: HostReader;
  /** hostName: the name of this agent's Host resource. */
  hostName: string;
  /** labels: this host's labels from config (fleet targeting). */
  labels?: Labels;
  /** intervalMs: how often status is refreshed (default 15 s). */
  intervalMs?: number;
  /** docker: a summary of the Docker engine, if this agent manages one. */
  docker?: () => Promise<DockerSummary>;
}

/** HostReconciler refreshes the status of this agent's Host. */
export class HostReconciler implements Reconciler {
  private readonly opts: Required<Pick<HostReconcilerOptions, 'intervalMs'>> & HostReconcilerOptions;

  constructor(opts: HostReconcilerOptions) {
    this.opts = { intervalMs: 15_000, ...opts };
  }

  /** key is the queue key of this agent's Host. */
  get key(): string {
    return resourceKey('Host', this.opts.hostName);
  }

  /** ensureHost creates this agent's Host in the store when no manifest declares it. */
  ensureHost(): void {
    const { store, hostName, labels } = this.opts;
    if (store.get('Host', hostName)) return;
    store.upsert({
      apiVersion: API_VERSION,
      kind: 'Host',
      metadata: { name: hostName, ...(labels && Object.keys(labels).length ? { labels } : {}) },
      spec: labels && Object.keys(labels).length ? { labels } : {},
    });
  }

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    if (key !== this.key) return {}; // another agent's Host: not ours to observe
    if (!this.opts.store.getByKey(key)) {
      this.ensureHost();
      return {};
    }
    const [snapshot, docker] = await Promise.all([this.opts.reader.snapshot(), this.dockerSummary(signal)]);
    const patch = beginStatus(this.opts.store, key);
    if (!patch) return {};
    Object.assign(patch.status, snapshot, { docker });
    if (this.opts.docker && !docker.available) {
      markNotReady(patch.status, 'DockerUnavailable', docker.message ?? 'the Docker engine does not answer', patch);
    } else {
      markReady(patch.status, 'Observed', `observed at ${snapshot.observedAt}`, patch);
    }
    patch.commit();
    return { requeueAfterMs: this.opts.intervalMs };
  }

  private async dockerSummary(signal: AbortSignal): Promise<DockerSummary> {
    if (!this.opts.docker) return { available: false, message: 'this agent does not manage a Docker engine' };
    try {
      return await Promise.race([
        this.opts.docker(),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })),
      ]);
    } catch (err) {
      return { available: false, message: (err as Error).message };
    }
  }
}
