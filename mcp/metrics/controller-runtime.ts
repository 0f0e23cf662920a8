// The controller manager's and work queues' metrics under controller-runtime's and client-go's names,
// so dashboards and alerts written for Kubernetes operators work unchanged.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ControllerMetrics, ReconcileResultLabel, WorkQueueMetrics } from '../../controllers/runtime/index.ts';

const RESULTS: readonly ReconcileResultLabel[] = ['success', 'error', 'requeue', 'requeue_after'];

// controller-runtime's reconcile-time buckets (0.005 s … 60 s) and client-go's queue buckets (1 µs … 10 s, ×10).
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60];
const QUEUE_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

/**
 * ControllerRuntimeMetrics implements the manager's ControllerMetrics hook. Every series of a
 * controller is created at 0 when the controller is added, so `rate()` and alerts see a controller
 * that has not failed yet.
 */
export class ControllerRuntimeMetrics implements ControllerMetrics {
  private readonly total: Counter<'controller' | 'result'>;
  private readonly errors: Counter<'controller'>;
  private readonly terminal: Counter<'controller'>;
  private readonly panics: Counter<'controller'>;
  private readonly time: Histogram<'controller'>;
  private readonly active: Gauge<'controller'>;
  private readonly depthGauge: Gauge<'name'>;
  private readonly adds: Counter<'name'>;
  private readonly retries: Counter<'name'>;
  private readonly queueDuration: Histogram<'name'>;
  private readonly workDuration: Histogram<'name'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.total = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller.', labelNames: ['controller', 'result'], registers });
    this.errors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller.', labelNames: ['controller'], registers });
    this.terminal = new Counter({ name: 'controller_runtime_terminal_reconcile_errors_total', help: 'Total number of terminal reconciliation errors per controller.', labelNames: ['controller'], registers });
    this.panics = new Counter({ name: 'controller_runtime_reconcile_panics_total', help: 'Total number of reconciliations that threw a non-Error value, per controller.', labelNames: ['controller'], registers });
    this.time = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller.', labelNames: ['controller'], buckets: RECONCILE_BUCKETS, registers });
    this.active = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller.', labelNames: ['controller'], registers });
    this.depthGauge = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue.', labelNames: ['name'], registers });
    this.adds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue.', labelNames: ['name'], registers });
    this.retries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue.', labelNames: ['name'], registers });
    this.queueDuration = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested.', labelNames: ['name'], buckets: QUEUE_BUCKETS, registers });
    this.workDuration = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes.', labelNames: ['name'], buckets: QUEUE_BUCKETS, registers });
  }

  reconcileTotal(controller: string, result: ReconcileResultLabel): void {
    this.total.inc({ controller, result });
  }
  reconcileErrors(controller: string): void {
    this.errors.inc({ controller });
  }
  terminalErrors(controller: string): void {
    this.terminal.inc({ controller });
  }
  reconcilePanics(controller: string): void {
    this.panics.inc({ controller });
  }
  reconcileTime(controller: string, seconds: number): void {
    this.time.observe({ controller }, seconds);
  }
  activeWorkers(controller: string, n: number): void {
    this.active.set({ controller }, n);
  }

  workQueue(controller: string): WorkQueueMetrics {
    for (const result of RESULTS) this.total.inc({ controller, result }, 0);
    this.errors.inc({ controller }, 0);
    this.terminal.inc({ controller }, 0);
    this.panics.inc({ controller }, 0);
    this.time.zero({ controller });
    this.active.set({ controller }, 0);
    const name = controller;
    this.depthGauge.set({ name }, 0);
    this.adds.inc({ name }, 0);
    this.retries.inc({ name }, 0);
    this.queueDuration.zero({ name });
    this.workDuration.zero({ name });
    return {
      depth: (n) => this.depthGauge.set({ name }, n),
      add: () => this.adds.inc({ name }),
      retry: () => this.retries.inc({ name }),
      queueDuration: (seconds) => this.queueDuration.observe({ name }, seconds),
      workDuration: (seconds) => this.workDuration.observe({ name }, seconds),
    };
  }
}
