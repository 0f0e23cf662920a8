// The package tools: check_system_updates answers from the package controller's cached upgradable
// list (never waiting for apt); install_package and update_system_packages propose Package
// resources — nothing is installed until an operator approves and the package controller converges.

import { checkPackageName, checkPackageVersion } from '../../../controllers/package/index.ts';
import { API_VERSION } from '../../../resources/kinds.ts';
import { ToolError, type ToolRegistry } from '../framework.ts';
import type { McpServices } from '../services.ts';
import { desiredOf, PROPOSAL_OUTPUT, proposeChanges, type RequestedChange } from './docker.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const PROPOSE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;
const PACKAGE_NAME = { type: 'string', minLength: 2, maxLength: 128, pattern: '^[a-z0-9][a-z0-9+.-]+$', description: 'Debian package name.' };
const REASON = { type: 'string', minLength: 1, maxLength: 4096, description: 'Why: shown to the approver.' };

/** packageResourceName derives the Package resource name (a DNS-1123 label) from a Debian package name: `g++` → `g-plus-plus`. */
export function packageResourceName(pkg: string): string {
  const label = pkg.replace(/\+/g, '-plus').replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  return label.length <= 63 ? label : label.slice(0, 63).replace(/-+$/, '');
}

function requireUpdates(s: McpServices) {
  if (!s.packageUpdates) throw new ToolError('SERVICE_UNAVAILABLE', 'the package controller is not running on this server, so the upgradable list is not known');
  return s.packageUpdates;
}

/** findPackage returns the Package resource that manages `pkg` (by spec.name), if any. */
function findPackage(s: McpServices, pkg: string) {
  return s.store.list('Package').find((r) => (r.spec as { name?: string }).name === pkg);
}

function packageChange(s: McpServices, pkg: string, version: string | undefined, state: 'present' | 'latest'): RequestedChange {
  const existing = findPackage(s, pkg);
  if (existing) {
    const object = desiredOf(existing);
    const spec = object.spec as Record<string, unknown>;
    spec.state = state;
    if (version) spec.version = version;
    else delete spec.version;
    return { operation: 'update', kind: 'Package', name: existing.metadata.name, object };
  }
  const name = packageResourceName(pkg);
  if (s.store.get('Package', name)) throw new ToolError('ALREADY_EXISTS', `Package/${name} exists and manages another package; propose_change can edit it`);
  return { operation: 'create', kind: 'Package', name, object: { apiVersion: API_VERSION, kind: 'Package', metadata: { name }, spec: { name: pkg, state, ...(version ? { version } : {}) } } };
}

/** registerPackageTools declares check_system_updates, install_package and update_system_packages. */
export function registerPackageTools(registry: ToolRegistry, s: McpServices): void {
  registry.add({
    name: 'check_system_updates',
    title: 'System updates',
    description: 'Installed packages with a newer candidate version, from the package controller\'s cached list (checkedAt says when; a stale list is refreshed in the background). `managed` marks packages a Package resource declares.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: {
      type: 'object',
      properties: {
        count: { type: 'integer' },
        packages: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, installed: { type: 'string' }, candidate: { type: 'string' }, origin: { type: 'string' }, managed: { type: 'boolean' } } } },
        checkedAt: { type: 'string' },
        stale: { type: 'boolean' },
        refreshing: { type: 'boolean' },
        error: { type: 'string' },
      },
      required: ['count', 'packages', 'stale'],
    },
    annotations: READ,
    access: 'system:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler() {
      const snap = requireUpdates(s).snapshot();
      const managed = new Set(s.store.list('Package').map((r) => (r.spec as { name?: string }).name));
      const packages = snap.packages.map((p) => ({ name: p.name, installed: p.installed, candidate: p.candidate, origin: p.origin, managed: managed.has(p.name) }));
      return {
        structured: { count: packages.length, packages, ...(snap.checkedAt ? { checkedAt: snap.checkedAt } : {}), stale: snap.stale, refreshing: snap.refreshing, ...(snap.error ? { error: snap.error } : {}) },
        ...(snap.checkedAt ? {} : { summary: 'The upgradable list has not been computed yet; a check is running. Ask again shortly.' }),
      };
    },
  });

  registry.add<{ name: string; version?: string; reason?: string }>({
    name: 'install_package',
    title: 'Install a package',
    description: 'Propose installing a Debian package: creates (or updates) a Package resource with state present, pinned to `version` when given. The package controller installs it once an operator approves.',
    inputSchema: { type: 'object', properties: { name: PACKAGE_NAME, version: { type: 'string', minLength: 1, maxLength: 128, description: 'Exact Debian version to pin (optional).' }, reason: REASON }, required: ['name'], additionalProperties: false },
    outputSchema: PROPOSAL_OUTPUT,
    annotations: PROPOSE,
    access: 'system:admin',
    risk: 'high',
    kind: 'propose',
    async handler(args, ctx) {
      try {
        checkPackageName(args.name);
        if (args.version !== undefined) checkPackageVersion(args.version);
      } catch (err) {
        throw new ToolError('PACKAGE_INVALID', (err as Error).message, { cause: err });
      }
      const existing = findPackage(s, args.name);
      const spec = (existing?.spec ?? {}) as { state?: string; version?: string };
      if (existing && spec.state === 'present' && spec.version === args.version) throw new ToolError('NO_CHANGE', `Package/${existing.metadata.name} already declares ${args.name}${args.version ? ` ${args.version}` : ''} present`);
      const change = packageChange(s, args.name, args.version, 'present');
      return proposeChanges(s, [change], args.reason ?? `install ${args.name}${args.version ? ` ${args.version}` : ''} (requested by ${ctx.principal.identity.agent} over MCP)`, ctx.principal.identity);
    },
  });

  registry.add<{ packages?: string[]; reason?: string }>({
    name: 'update_system_packages',
    title: 'Update system packages',
    description: 'Propose upgrading every upgradable package (or only those listed) by pinning each to its candidate version in a Package resource, all in one proposal. Uses the cached list of check_system_updates.',
    inputSchema: {
      type: 'object',
      properties: { packages: { type: 'array', items: PACKAGE_NAME, minItems: 1, maxItems: 100, uniqueItems: true, description: 'Only these (default: every upgradable package).' }, reason: REASON },
      additionalProperties: false,
    },
    outputSchema: PROPOSAL_OUTPUT,
    annotations: { ...PROPOSE, destructiveHint: true },
    access: 'system:admin',
    risk: 'high',
    kind: 'propose',
    async handler(args, ctx) {
      const snap = requireUpdates(s).snapshot();
      if (!snap.checkedAt) throw new ToolError('SERVICE_UNAVAILABLE', `the upgradable list has not been computed yet${snap.error ? ` (${snap.error})` : ''}; try again shortly`);
      const wanted = args.packages ? new Set(args.packages) : undefined;
      const chosen = snap.packages.filter((p) => !wanted || wanted.has(p.name));
      if (wanted) {
        const unknown = [...wanted].filter((n) => !chosen.some((p) => p.name === n));
        if (unknown.length) throw new ToolError('NOT_FOUND', `not upgradable (or not installed): ${unknown.join(', ')}`);
      }
      if (chosen.length === 0) throw new ToolError('NO_CHANGE', 'no package is upgradable; nothing to propose');
      const changes = chosen.map((p) => packageChange(s, p.name, p.candidate, 'present'));
      return proposeChanges(s, changes, args.reason ?? `upgrade ${chosen.length} package(s) to their candidate versions (requested by ${ctx.principal.identity.agent} over MCP)`, ctx.principal.identity);
    },
  });
}
