// Scopes: what a token may do. One list, shared by the AccessToken schema's enum, the token index,
// the MCP tools and the REST API. Aliases expand here and nowhere else.

/** SCOPES lists every concrete scope (DESIGN §6). */
export const SCOPES = [
  'system:read',
  'container:read',
  'container:write',
  'container:admin',
  'file:read',
  'network:diag',
  'network:read',
  'system:admin',
  'proposals:approve',
  'metrics:read',
] as const;

/** Scope is one concrete scope. */
export type Scope = (typeof SCOPES)[number];

/** SCOPE_ALIASES expand to concrete scopes: `readonly` is every `:read` scope, `admin` is everything. */
export const SCOPE_ALIASES: Readonly<Record<string, readonly Scope[]>> = Object.freeze({
  readonly: SCOPES.filter((s) => s.endsWith(':read')),
  admin: [...SCOPES],
});

/** ALL_SCOPE_NAMES are the names a token may list: concrete scopes and aliases. */
export const ALL_SCOPE_NAMES: readonly string[] = [...SCOPES, ...Object.keys(SCOPE_ALIASES)];

/** isScopeName tells whether a token may list this name. */
export function isScopeName(name: string): boolean {
  return ALL_SCOPE_NAMES.includes(name);
}

/** expandScopes turns a token's listed names into the set of concrete scopes; unknown names throw. */
export function expandScopes(names: readonly string[]): ReadonlySet<Scope> {
  const out = new Set<Scope>();
  for (const name of names) {
    const alias = SCOPE_ALIASES[name];
    if (alias) for (const s of alias) out.add(s);
    else if ((SCOPES as readonly string[]).includes(name)) out.add(name as Scope);
    else throw new TypeError(`unknown scope ${JSON.stringify(name)} (known: ${ALL_SCOPE_NAMES.join(', ')})`);
  }
  return out;
}

/** hasScope tells whether a principal's scopes include `needed`. */
export function hasScope(scopes: ReadonlySet<Scope>, needed: Scope): boolean {
  return scopes.has(needed);
}

/**
 * KIND_SCOPES says which scope reads a kind and which proposes changes to it. Proposals are readable
 * by any authenticated caller; approving them needs `proposals:approve` (checked by the proposal
 * service, not here). `container:write` only covers start/stop/restart (manage_container), so
 * changing a Container's spec needs `container:admin`.
 */
export const KIND_SCOPES: Readonly<Record<string, { read: Scope; write: Scope }>> = Object.freeze({
  Container: { read: 'container:read', write: 'container:admin' },
  Image: { read: 'container:read', write: 'container:admin' },
  Package: { read: 'system:read', write: 'system:admin' },
  HealthProbe: { read: 'system:read', write: 'system:admin' },
  OutputPreference: { read: 'system:read', write: 'system:admin' },
  AccessToken: { read: 'system:admin', write: 'system:admin' },
  Host: { read: 'system:read', write: 'system:admin' },
});
