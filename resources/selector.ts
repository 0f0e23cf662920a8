// Label selectors with Kubernetes semantics, in one place: the manifests source uses them to decide
// which resources this agent sees at all (fleet targeting, DESIGN §9), and controllers that still
// check `spec.hostSelector` themselves call the same function, so the two can never disagree.

import type { Labels } from './types.ts';

/** LabelSelectorRequirement is one set-based requirement of a label selector. */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** LabelSelector is a Kubernetes label selector: every matchLabels entry and every expression must hold. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * matchesSelector tells whether a label selector matches a label set, as Kubernetes does: an empty
 * selector matches everything; `In` needs the key present with one of the values; `NotIn` holds when
 * the key is missing or its value is not listed; `Exists`/`DoesNotExist` look at the key only. An
 * operator this code does not know matches nothing, so a newer manifest never widens its reach here.
 */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Labels>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  }
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, r.key);
    const value = has ? labels[r.key] : undefined;
    const values = r.values ?? [];
    switch (r.operator) {
      case 'In':
        if (!has || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * hostSelected tells whether a resource applies on a host with these labels: true without a
 * `spec.hostSelector`, otherwise whether the selector matches. A selector that is not an object
 * (schema validation normally prevents it) selects nothing rather than everything.
 */
export function hostSelected(resource: { spec?: unknown }, labels: Readonly<Labels>): boolean {
  const spec = resource.spec as { hostSelector?: unknown } | undefined;
  const selector = spec?.hostSelector;
  if (selector === undefined) return true;
  if (selector === null || typeof selector !== 'object' || Array.isArray(selector)) return false;
  return matchesSelector(selector as LabelSelector, labels);
}
