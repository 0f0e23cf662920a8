// Shared pieces of the runtime tests: a resource builder, a counting metrics sink and a gate.

import { API_VERSION } from '../../../../resources/kinds.ts';
import type { DesiredResource } from '../../../../resources/types.ts';
import type { ControllerMetrics } from '../../../../controllers/runtime/manager.ts';
import type { WorkQueueMetrics } from '../../../../controllers/runtime/workqueue.ts';

/** container builds a desired Container. */
export function container(name: string, image = 'busybox:1'): DesiredResource {
  return { apiVersion: API_VERSION, kind: 'Container', metadata: { name }, spec: { image } };
}

/** CountingMetrics counts every metrics hook call by name (`total:error`, `errors`, `queue:add`...). */
export interface CountingMetrics {
  counts: Record<string, number>;
  metrics: ControllerMetrics;
  queue: WorkQueueMetrics;
}

/** countingMetrics makes a ControllerMetrics (and a WorkQueueMetrics) that only count. */
export function countingMetrics(): CountingMetrics {
  const counts: Record<string, number> = {};
  const bump = (name: string) => {
    counts[name] = (counts[name] ?? 0) + 1;
  };
  const queue: WorkQueueMetrics = {
    depth: (n) => {
      counts['queue:depth'] = n;
    },
    add: () => bump('queue:add'),
    retry: () => bump('queue:retry'),
    queueDuration: () => bump('queue:queueDuration'),
    workDuration: () => bump('queue:workDuration'),
  };
  const metrics: ControllerMetrics = {
    reconcileTotal: (_c, result) => bump(`total:${result}`),
    reconcileErrors: () => bump('errors'),
    terminalErrors: () => bump('terminal'),
    reconcilePanics: () => bump('panics'),
    reconcileTime: () => bump('time'),
    activeWorkers: () => {},
    workQueue: () => queue,
  };
  return { counts, metrics, queue };
}

/** Gate is a promise a test opens when it chooses. */
export interface Gate {
  promise: Promise<void>;
  open(): void;
}

/** gate makes a closed Gate. */
export function gate(): Gate {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** clock is a fake clock that moves one second every time it is read. */
export function clock(start = Date.parse('2025-01-01T00:00:00Z')): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}
