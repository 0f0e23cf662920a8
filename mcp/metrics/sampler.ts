// A background sampler: some values cost a system call or a Docker request to read (network
// counters, container CPU and memory). A scrape must never wait for those, so a loop refreshes them
// on an interval and collect() reads only the last sample. One loop per concern; a failed sample
// keeps the previous value and is counted, so a scrape shows how stale the cache is.

import type { Counter, Gauge } from 'prom-client';

/** SamplerHealth receives how each sample went (the sampler metrics in index.ts implement it). */
export interface SamplerHealth {
  sampled(sampler: string, atSeconds: number): void;
  failed(sampler: string): void;
}

/** BackgroundSamplerOptions configure a BackgroundSampler. */
export interface BackgroundSamplerOptions<T> {
  /** name: the `sampler` label of the sampler's own metrics. */
  name: string;
  intervalMs: number;
  /** sample reads the values; it must honour the signal, which aborts after intervalMs (at least 10 s). */
  sample: (signal: AbortSignal) => Promise<T>;
  health?: SamplerHealth;
  onError?: (err: unknown) => void;
}

/** BackgroundSampler keeps the latest result of `sample`, refreshed every intervalMs until stop(). */
export class BackgroundSampler<T> {
  private readonly opts: BackgroundSamplerOptions<T>;
  private latest: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly stopSignal = new AbortController();

  constructor(opts: BackgroundSamplerOptions<T>) {
    this.opts = opts;
  }

  /** value is the last good sample (undefined before the first one succeeded). */
  get value(): T | undefined {
    return this.latest;
  }

  /** start takes the first sample at once and then one every intervalMs. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = this.tick();
  }

  /** refresh takes a sample now (tests and benchmarks use it to avoid waiting for the interval). */
  async refresh(): Promise<void> {
    await this.sampleOnce();
  }

  /** stop ends the loop and waits for a sample in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopSignal.abort(new Error('the sampler is stopping'));
    await this.running;
  }

  private async tick(): Promise<void> {
    await this.sampleOnce();
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick();
    }, this.opts.intervalMs);
    // The loop must never keep the process alive by itself.
    this.timer.unref();
  }

  private async sampleOnce(): Promise<void> {
    // A short interval must not starve a slow engine: every sample gets at least 10 s.
    const signal = AbortSignal.any([AbortSignal.timeout(Math.max(this.opts.intervalMs, 10_000)), this.stopSignal.signal]);
    try {
      this.latest = await this.opts.sample(signal);
      this.opts.health?.sampled(this.opts.name, Date.now() / 1000);
    } catch (err) {
      if (this.stopped) return;
      this.opts.health?.failed(this.opts.name);
      this.opts.onError?.(err);
    }
  }
}

/** samplerHealthFrom adapts the two sampler metrics to SamplerHealth. */
export function samplerHealthFrom(lastSample: Gauge<'sampler'>, errors: Counter<'sampler'>): SamplerHealth {
  return {
    sampled: (sampler, at) => lastSample.set({ sampler }, at),
    failed: (sampler) => errors.inc({ sampler }),
  };
}
