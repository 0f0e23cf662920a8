// Audit log appends by action and outcome, and appends that failed (which made a mutating request
// fail closed). Actions are dotted verbs chosen by the server; anything else is counted as "other".

import { Counter, type Registry } from 'prom-client';

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$/;
const OUTCOMES = new Set(['allowed', 'denied', 'succeeded', 'failed']);
const MAX_ACTIONS = 64;

/** AuditMetrics counts audit log appends; the audit log's onAppend hook calls record. */
export class AuditMetrics {
  private readonly events: Counter<'action' | 'outcome'>;
  private readonly failures: Counter;
  private readonly known = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.events = new Counter({ name: 'systemmanager_audit_events_total', help: 'Lines written to the audit log, by action and outcome.', labelNames: ['action', 'outcome'], registers });
    this.failures = new Counter({ name: 'systemmanager_audit_write_failures_total', help: 'Audit log appends that failed; the change they guarded was refused.', registers });
    this.failures.inc(0);
  }

  /** record counts one append; `error` set means the line was not written. */
  record(entry: { action: string; outcome: string }, error?: unknown): void {
    if (error !== undefined) {
      this.failures.inc();
      return;
    }
    this.events.inc({ action: this.action(entry.action), outcome: OUTCOMES.has(entry.outcome) ? entry.outcome : 'other' });
  }

  private action(action: string): string {
    if (this.known.has(action)) return action;
    if (!ACTION.test(action) || action.length > 64 || this.known.size >= MAX_ACTIONS) return 'other';
    this.known.add(action);
    return action;
  }
}
