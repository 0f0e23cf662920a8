// Recent events per object, kept in memory like a small `kubectl describe` event list. Repeats are
// counted rather than stored again (as Kubernetes' event correlator does), so a failure retried every
// few seconds for a day is one line with a large count, not a flood.

import type { EventRecorder, EventType, RecordedEvent } from './contracts.ts';

/** MemoryEventRecorderOptions bound what a MemoryEventRecorder keeps. */
export interface MemoryEventRecorderOptions {
  /** maxEventsPerKey: distinct events kept per object; the least recent go first (default 20). */
  maxEventsPerKey?: number;
  /** maxKeys: objects with events; the one recorded to least recently goes first (default 1000). */
  maxKeys?: number;
  now?: () => Date;
}

/** MemoryEventRecorder is an EventRecorder with bounded memory; events do not survive a restart. */
export class MemoryEventRecorder implements EventRecorder {
  // A Map iterates in insertion order; re-inserting on every record makes the first key the least recent.
  private readonly events = new Map<string, RecordedEvent[]>();
  private readonly maxEventsPerKey: number;
  private readonly maxKeys: number;
  private readonly now: () => Date;

  constructor(opts: MemoryEventRecorderOptions = {}) {
    this.maxEventsPerKey = Math.max(1, opts.maxEventsPerKey ?? 20);
    this.maxKeys = Math.max(1, opts.maxKeys ?? 1000);
    this.now = opts.now ?? (() => new Date());
  }

  /** record adds an event for `key`, or counts it again when an event of the same type, reason and message is kept. */
  record(key: string, type: EventType, reason: string, message: string): void {
    const time = this.now().toISOString();
    const list = this.events.get(key) ?? [];
    this.events.delete(key);
    this.events.set(key, list);
    const i = list.findIndex((e) => e.type === type && e.reason === reason && e.message === message);
    if (i >= 0) {
      const [same] = list.splice(i, 1);
      list.push({ ...same!, count: same!.count + 1, lastTimestamp: time });
    } else {
      list.push({ type, reason, message, count: 1, firstTimestamp: time, lastTimestamp: time });
      if (list.length > this.maxEventsPerKey) list.shift();
    }
    while (this.events.size > this.maxKeys) this.events.delete(this.events.keys().next().value!);
  }

  /** list returns copies of the key's events, least recent first. */
  list(key: string): RecordedEvent[] {
    return (this.events.get(key) ?? []).map((e) => ({ ...e }));
  }

  /** forget drops every event of `key` (its object is gone). */
  forget(key: string): void {
    this.events.delete(key);
  }

  /** size is the number of keys with events. */
  get size(): number {
    return this.events.size;
  }
}
