// What `describe` shows about one resource, gathered from the places that know: the store (spec,
// status, conditions), the event recorder (recent events), and the manifests source (which file
// declares it, and that file's current errors, whose last good version may be the one in force).

import type { RecordedEvent } from '../../controllers/runtime/index.ts';
import { resourceKey } from '../../resources/kinds.ts';
import type { ManifestSource } from '../../resources/source.ts';
import type { Condition, Resource } from '../../resources/types.ts';

/** Description is the body of a describe response. */
export interface Description {
  apiVersion: string;
  kind: 'Description';
  object: Resource;
  conditions: Condition[];
  events: RecordedEvent[];
  /** origin: the manifest file and line that declares the resource; absent for server-owned kinds. */
  origin?: { file: string; line: number };
  /** manifestErrors: current problems in the origin file (its last good version stays in force meanwhile). */
  manifestErrors: { code: string; message: string }[];
}

/** describeResource assembles the Description of `object`. */
export function describeResource(
  object: Resource,
  parts: { events?: { list(key: string): RecordedEvent[] }; source?: Pick<ManifestSource, 'errorsFor' | 'originOf'> },
): Description {
  const key = resourceKey(object.kind, object.metadata.name);
  const origin = parts.source?.originOf(key);
  return {
    apiVersion: object.apiVersion,
    kind: 'Description',
    object,
    conditions: [...(object.status?.conditions ?? [])],
    events: parts.events?.list(key) ?? [],
    ...(origin ? { origin } : {}),
    manifestErrors: (parts.source?.errorsFor(key) ?? []).map((e) => ({ code: e.code, message: e.message })),
  };
}
