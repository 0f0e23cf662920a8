// DriftWatcher follows Docker's event stream for managed containers, so a container stopped, killed
// or removed behind our back is reconciled within a second instead of at the next resync. When the
// stream ends (the daemon stopped or restarted) it resubscribes with backoff, and every successful
// (re)subscription asks for a full resync, because events from the gap are lost.

import { silentLogger, type Logger } from '../../resources/log.ts';
import type { DockerEngine, DockerEvent } from './engine.ts';
import { isOwned, LABEL_NAME, ownershipFilters, type Ownership } from './spec.ts';

/** DRIFT_ACTIONS are the container event actions that may mean the container no longer matches its spec. */
export const DRIFT_ACTIONS: ReadonlySet<string> = new Set(['die', 'stop', 'kill', 'destroy', 'start', 'restart', 'oom', 'pause', 'unpause', 'rename', 'health_status']);

/** DriftWatcherOptions configure a DriftWatcher. */
export interface DriftWatcherOptions {
  engine: DockerEngine;
  /** onDrift: a managed container's event, with the resource name from its label. */
  onDrift: (name: string, event: DockerEvent) => void;
  /** onSubscribed: the stream is (again) open; events before this moment may have been missed. */
  onSubscribed?: () => void;
  logger?: Logger;
  /** ownership: which managed containers are ours (see spec.ts Ownership). */
  ownership?: Ownership;
  /** backoffBaseMs/backoffMaxMs: the wait before resubscribing doubles from base to max (defaults 200 ms, 10 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** DriftWatcher runs the subscription loop until stop(). */
export class DriftWatcher {
  private readonly opts: DriftWatcherOptions;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private failures = 0;
  /** subscriptions counts successful subscriptions (the first one and every resubscription). */
  subscriptions = 0;

  constructor(opts: DriftWatcherOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger;
  }

  /** start begins following the event stream (idempotent). */
  start(): void {
    this.loop ??= this.run();
  }

  /** stop ends the subscription and resolves when the loop has returned. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('the drift watcher is stopping'));
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const base = this.opts.backoffBaseMs ?? 200;
    const max = this.opts.backoffMaxMs ?? 10_000;
    while (!signal.aborted) {
      let opened = false;
      try {
        await this.opts.engine.streamEvents(
          { type: ['container'], label: ownershipFilters(this.opts.ownership) },
          (e) => this.handle(e),
          signal,
          () => {
            opened = true;
            this.failures = 0;
            this.subscriptions += 1;
            if (this.subscriptions > 1) this.log.info('Docker event stream resubscribed', { endpoint: this.opts.engine.endpoint });
            try {
              this.opts.onSubscribed?.();
            } catch (err) {
              this.log.error('drift watcher onSubscribed failed', { error: err as Error });
            }
          },
        );
        if (!signal.aborted) this.log.warn('Docker event stream ended; resubscribing', { endpoint: this.opts.engine.endpoint });
      } catch (err) {
        if (signal.aborted) break;
        this.log[this.failures === 0 ? 'warn' : 'debug']('Docker event stream unavailable; retrying with backoff', { error: err as Error, failures: this.failures + 1 });
      }
      if (signal.aborted) break;
      if (!opened) this.failures += 1;
      const delay = opened ? base : Math.min(base * 2 ** (this.failures - 1), max);
      await sleep(delay, signal);
    }
  }

  private handle(e: DockerEvent): void {
    if (e.type !== 'container') return;
    const action = e.action.split(':')[0]!.trim();
    if (!DRIFT_ACTIONS.has(action)) return;
    const name = e.attributes[LABEL_NAME];
    if (!name || !isOwned(e.attributes, this.opts.ownership, name)) return;
    try {
      this.opts.onDrift(name, e);
    } catch (err) {
      this.log.error('drift watcher onDrift failed', { error: err as Error, name });
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
