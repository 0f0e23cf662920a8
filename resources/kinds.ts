// The kinds this server knows: one entry per kind, naming its schema, its REST plural and where its
// desired state lives. Everything that needs "all kinds" (validation, the store, REST, MCP) reads this.

/** API_VERSION is the group/version every resource carries. */
export const API_VERSION = 'systemmanager.io/v1alpha1';

/**
 * KindInfo describes one kind. `storage` says who owns the desired state: `manifests` kinds come
 * from the manifests directory (git's), `state` kinds are created by the server itself and persist
 * in the state directory (proposals, the observed Host).
 */
export interface KindInfo {
  readonly kind: KindName;
  readonly plural: string;
  readonly schemaId: string;
  readonly storage: 'manifests' | 'state';
}

/** KIND_NAMES lists every kind, in the order controllers and docs present them. */
export const KIND_NAMES = [
  'Container',
  'Image',
  'Package',
  'HealthProbe',
  'OutputPreference',
  'AccessToken',
  'Proposal',
  'Host',
] as const;

/** KindName is one of KIND_NAMES. */
export type KindName = (typeof KIND_NAMES)[number];

const schemaBase = 'https://systemmanager.io/schemas/v1alpha1/';

/** KINDS maps every kind name to its KindInfo. */
export const KINDS: Readonly<Record<KindName, KindInfo>> = Object.freeze(
  Object.fromEntries(
    KIND_NAMES.map((kind) => [
      kind,
      Object.freeze({
        kind,
        plural: `${kind.toLowerCase()}s`,
        schemaId: `${schemaBase}${kind.toLowerCase()}.schema.json`,
        storage: kind === 'Proposal' ? 'state' : 'manifests',
      }),
    ]),
  ) as Record<KindName, KindInfo>,
);

/** isKindName tells whether a string names a known kind. */
export function isKindName(value: unknown): value is KindName {
  return typeof value === 'string' && (KIND_NAMES as readonly string[]).includes(value);
}

/** kindForPlural finds a kind by its REST plural (`containers`) or, like kubectl, its singular or kind name in any case. */
export function kindForPlural(word: string): KindInfo | undefined {
  const w = word.toLowerCase();
  return KIND_NAMES.map((k) => KINDS[k]).find((info) => info.plural === w || info.kind.toLowerCase() === w);
}

/** resourceKey is the queue/store key of a resource: `Kind/name`. */
export function resourceKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

/** parseResourceKey splits `Kind/name`. */
export function parseResourceKey(key: string): { kind: string; name: string } {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new TypeError(`not a resource key: ${JSON.stringify(key)}`);
  return { kind: key.slice(0, slash), name: key.slice(slash + 1) };
}
