// Reading the untyped parts of a stored object (status and spec are schema-shaped, but status comes
// back from the state directory and may predate a schema change). A metric that cannot read a value
// leaves its series out rather than exporting a made-up number.

import type { ResourceStore } from '../../resources/store.ts';
import type { Resource } from '../../resources/types.ts';

/** StoreReader is the part of the ResourceStore collectors read during a scrape. */
export type StoreReader = Pick<ResourceStore, 'list' | 'get'>;

/** finiteNumber returns the value when it is a finite number, else undefined. */
export function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** timestampSeconds turns an RFC 3339 time into Unix seconds, or undefined when it is not one. */
export function timestampSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** statusOf returns an object's status as a plain record (empty when it has none). */
export function statusOf(object: Resource): Record<string, unknown> {
  return (object.status ?? {}) as Record<string, unknown>;
}

/** specOf returns an object's spec as a plain record. */
export function specOf(object: Resource): Record<string, unknown> {
  return (object.spec ?? {}) as Record<string, unknown>;
}

/** stringField returns a string field, or undefined. */
export function stringField(record: Record<string, unknown>, field: string): string | undefined {
  const v = record[field];
  return typeof v === 'string' ? v : undefined;
}
