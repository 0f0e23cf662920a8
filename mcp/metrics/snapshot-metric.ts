// A gauge or counter whose whole value set is rebuilt from a cache on every scrape (the store, a
// sampler). prom-client's Gauge hashes and validates the labels on every set(), which is most of a
// scrape's cost with hundreds of resources; here collect() only appends to a list that prom-client's
// registry formats (and escapes) as usual. Series not set during a collect do not exist, so a deleted
// resource disappears from the next scrape.

import { Registry } from 'prom-client';

/** SnapshotMetricOptions configure a SnapshotMetric. */
export interface SnapshotMetricOptions<L extends string> {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames: readonly L[];
  registry: Registry;
  /** collect rebuilds the values; called at the start of every scrape. */
  collect?: () => void;
}

interface Value<L extends string> {
  labels: Record<L, string>;
  value: number;
}

/** SnapshotMetric is registered in a prom-client Registry like any metric and holds only what the last collect set. */
export class SnapshotMetric<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labelNames: readonly L[];
  readonly aggregator = 'sum';
  private values: Value<L>[] = [];
  private readonly collectFn: (() => void) | undefined;

  constructor(opts: SnapshotMetricOptions<L>) {
    this.name = opts.name;
    this.help = opts.help;
    this.type = opts.type;
    this.labelNames = opts.labelNames;
    this.collectFn = opts.collect;
    opts.registry.registerMetric(this as never);
  }

  /** set adds one series; every label name must be given (a missing one would change the series' identity). */
  set(labels: Record<L, string>, value: number): void {
    this.values.push({ labels, value });
  }

  /** reset forgets every series (the start of a collect). */
  reset(): void {
    this.values = [];
  }

  /** text renders the series in the Prometheus text format (what MetricsRegistry serves). */
  text(): string {
    this.collectFn?.();
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const v of this.values) {
      let labels = '';
      for (const l of this.labelNames) labels += `${labels ? ',' : ''}${l}="${escapeLabel(v.labels[l] ?? '')}"`;
      lines.push(`${this.name}${labels ? `{${labels}}` : ''} ${formatValue(v.value)}`);
    }
    return lines.join('\n');
  }

  /** get is what a plain prom-client Registry calls during a scrape (and for JSON output). */
  get(): { name: string; help: string; type: string; aggregator: string; values: Value<L>[] } {
    this.collectFn?.();
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values };
  }
}

/**
 * MetricsRegistry is a prom-client Registry whose text output renders SnapshotMetrics itself (a string
 * join per series instead of prom-client's per-label formatting) and every other metric through
 * prom-client's getSingleMetricAsString, in registration order. It serves the Prometheus text format
 * only; default labels and OpenMetrics output are not used by this server.
 */
export class MetricsRegistry extends Registry {
  override async metrics(): Promise<string> {
    // Started in order, synchronously: collect() of an earlier metric may fill later ones.
    const parts = this.getMetricsAsArray().map((m) => {
      const metric: unknown = m;
      return metric instanceof SnapshotMetric ? metric.text() : this.getSingleMetricAsString(m.name);
    });
    return `${(await Promise.all(parts)).join('\n\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return /[\\\n"]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
