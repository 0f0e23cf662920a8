// The resource envelope shared by every kind. The kind-specific spec and status shapes are defined
// by the JSON Schemas in schemas/ (the single source of truth) and validated there; code reads them
// through the narrow views in each controller.

import type { KindName } from './kinds.ts';

/** Labels are string key/value pairs used for selection. */
export type Labels = Record<string, string>;

/** ObjectMeta is a resource's metadata; the server sets everything but name, labels and annotations. */
export interface ObjectMeta {
  name: string;
  labels?: Labels;
  annotations?: Record<string, string>;
  uid: string;
  /** generation is bumped when spec changes, never by status writes. */
  generation: number;
  /** resourceVersion changes on every write; updates carrying a stale one are refused. */
  resourceVersion: string;
  creationTimestamp: string;
  finalizers?: string[];
}

/** ConditionStatus is the tri-state of a condition. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Condition follows the Kubernetes/kstatus shape. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** ResourceStatus is the part of status every kind shares. */
export interface ResourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  [field: string]: unknown;
}

/** Resource is one stored object. */
export interface Resource<Spec = Record<string, unknown>, Status extends ResourceStatus = ResourceStatus> {
  apiVersion: string;
  kind: KindName;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** DesiredResource is what a manifest (or a proposal) declares: no server-set metadata, no status. */
export interface DesiredResource<Spec = Record<string, unknown>> {
  apiVersion: string;
  kind: KindName;
  metadata: { name: string; labels?: Labels; annotations?: Record<string, string> };
  spec: Spec;
}
