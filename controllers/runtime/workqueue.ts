// A work queue of object keys after client-go's workqueue (the plain, delaying and rate-limiting
// queues in one class). Controllers queue keys, not objects, so a burst of events for one object
// collapses into one reconcile that reads the latest state.

/**
 * WorkQueueMetrics receives the queue's measurements. The metrics package implements it with
 * client-go's names (`workqueue_depth`, `workqueue_adds_total`, `workqueue_retries_total`,
 * `workqueue_queue_duration_seconds`, `workqueue_work_duration_seconds`); the queue itself knows no
 * metrics library.
 */
export interface WorkQueueMetrics {
  /** depth: keys waiting to be handed out (including ones re-added while being processed). */
  depth(n: number): void;
  /** add: a key became waiting (an add of an already waiting key is not counted, as in client-go). */
  add(): void;
  /** retry: a delayed add was asked for (client-go counts every AddAfter, so requeueAfter too). */
  retry(): void;
  /** queueDuration: how long a key waited between becoming waiting and being handed out. */
  queueDuration(seconds: number): void;
  /** workDuration: how long a key was processed, from get() to done(). */
  workDuration(seconds: number): void;
}

/** WorkQueueOptions configure a WorkQueue. */
export interface WorkQueueOptions {
  /** backoffBaseMs: the first addRateLimited delay; each further failure doubles it (default 100 ms). */
  backoffBaseMs?: number;
  /** backoffMaxMs: the cap of the rate-limited delay (default 5 min). */
  backoffMaxMs?: number;
  metrics?: WorkQueueMetrics;
  /** now: a monotonic clock in milliseconds, for the duration metrics (default performance.now). */
  now?: () => number;
}

/** DEFAULT_BACKOFF_BASE_MS is the first retry delay of a failing key. */
export const DEFAULT_BACKOFF_BASE_MS = 100;
/** DEFAULT_BACKOFF_MAX_MS caps the retry delay of a failing key. */
export const DEFAULT_BACKOFF_MAX_MS = 5 * 60_000;

interface Waiting {
  at: number;
  timer: NodeJS.Timeout;
}

/**
 * WorkQueue hands out string keys to workers with client-go's guarantees: a key waiting more than
 * once is handed out once (`dirty`), a key is never handed out again before `done()` (`processing`),
 * and a key added while it is being processed is handed out again after `done()`.
 *
 * Unlike client-go, `get()` resolves undefined as soon as the queue is shut down, even if keys are
 * still waiting: shutting down means "start no new work".
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, Waiting>();
  private readonly failures = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private readonly base: number;
  private readonly max: number;
  private readonly metrics: WorkQueueMetrics | undefined;
  private readonly now: () => number;
  private stopped = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.base = opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.max = opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.metrics = opts.metrics;
    this.now = opts.now ?? (() => performance.now());
  }

  /** add makes a key waiting; a key already waiting is not added twice. Ignored after shutDown. */
  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    this.metrics?.add();
    this.metrics?.depth(this.dirty.size);
    // A key being processed waits in `dirty` only; done() queues it, so it never runs twice at once.
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /**
   * addAfter adds the key once `ms` have passed. If the key is already due earlier, the earlier time
   * wins (as in client-go's delaying queue); a later request never postpones it.
   */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    this.metrics?.retry();
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    // A pending retry must not keep the process alive on its own.
    timer.unref();
    this.waiting.set(key, { at, timer });
  }

  /**
   * addRateLimited adds the key after its backoff delay: backoffBaseMs doubled for every failure since
   * the last forget(), capped at backoffMaxMs. It returns the delay chosen, for logs and conditions.
   */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.base * 2 ** failures, this.max);
    this.addAfter(key, delay);
    return delay;
  }

  /** numRequeues is the number of addRateLimited calls for the key since it was last forgotten. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** forget resets the key's backoff (after a success); it does not remove the key from the queue. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /**
   * get resolves with the next waiting key, marking it as processing, and waits while none is
   * waiting. It resolves undefined once the queue is shut down; callers then stop.
   */
  get(): Promise<string | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** done ends the processing of a key handed out by get(); a key added meanwhile is queued again. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.metrics?.workDuration((this.now() - started) / 1000);
    if (this.stopped || !this.dirty.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /**
   * shutDown stops the queue: pending delayed adds are cancelled, waiting keys dropped, and every
   * pending and future get() resolves undefined. done() still releases keys that are processing.
   */
  shutDown(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.addedAt.clear();
    this.metrics?.depth(0);
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  /** shuttingDown tells whether shutDown() was called. */
  get shuttingDown(): boolean {
    return this.stopped;
  }

  /** len is the number of keys ready to be handed out now (not counting delayed or processing ones). */
  len(): number {
    return this.queue.length;
  }

  /** isProcessing tells whether a key has been handed out and not yet marked done. */
  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    const now = this.now();
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    this.startedAt.set(key, now);
    if (added !== undefined) this.metrics?.queueDuration((now - added) / 1000);
    this.metrics?.depth(this.dirty.size);
    return key;
  }

  private dispatch(): void {
    // Keys are taken synchronously, so two getters can never be handed the same key.
    while (this.getters.length > 0 && this.queue.length > 0) {
      const resolve = this.getters.shift()!;
      resolve(this.take());
    }
  }
}
