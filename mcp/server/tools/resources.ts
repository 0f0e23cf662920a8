// The resource tools: list, get and describe any kind (scope: the kind's read scope; Proposals are
// readable by any caller), and propose_change, which proposes creating, replacing or deleting any
// resource, validated against its kind's schema (scope: the kind's write scope).

import { KIND_NAMES, type KindName } from '../../../resources/kinds.ts';
import { KIND_SCOPES, type Scope } from '../../../resources/scopes.ts';
import type { Resource } from '../../../resources/types.ts';
import { getCondition } from '../../../controllers/runtime/index.ts';
import { ToolError, type ToolRegistry } from '../framework.ts';
import { desiredResourceSchema, type JsonSchema } from '../schema-bundle.ts';
import type { McpServices } from '../services.ts';
import { PROPOSAL_OUTPUT, proposeChanges } from './docker.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const NAME = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'Resource name (DNS-1123 label).' };
const KIND = { type: 'string', enum: [...KIND_NAMES], description: 'Resource kind.' };
/** WRITABLE_KINDS are the kinds propose_change may target (Proposals are made by the server). */
const WRITABLE_KINDS = KIND_NAMES.filter((k) => k !== 'Proposal');

const readScope = (kind: string): Scope | undefined => KIND_SCOPES[kind]?.read;
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required });

function getOrFail(s: McpServices, kind: string, name: string): Resource {
  const r = s.store.get(kind, name);
  if (!r) throw new ToolError('NOT_FOUND', `${kind}/${name} not found; list_resources shows what exists`);
  return r;
}

function row(r: Resource): Record<string, unknown> {
  const ready = getCondition(r.status, 'Ready');
  return {
    kind: r.kind,
    name: r.metadata.name,
    generation: r.metadata.generation,
    observedGeneration: r.status?.observedGeneration ?? 0,
    ready: ready?.status ?? 'Unknown',
    reason: ready?.reason ?? '',
    ...(r.metadata.labels ? { labels: r.metadata.labels } : {}),
  };
}

/** parseSelector reads `k=v,k2=v2` (equality only, like kubectl -l). */
function parseSelector(text: string): Array<[string, string]> {
  return text.split(',').filter(Boolean).map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ToolError('INVALID_ARGUMENTS', `labelSelector: expected key=value pairs separated by commas, got ${JSON.stringify(part)}`);
    return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  });
}

/** registerResourceTools declares list_resources, get_resource, describe_resource and propose_change. */
export function registerResourceTools(registry: ToolRegistry, s: McpServices): void {
  registry.add<{ kind: KindName; labelSelector?: string; limit?: number }>({
    name: 'list_resources',
    title: 'List resources',
    description: 'Resources of one kind with their readiness (Ready condition) and generation vs observedGeneration.',
    inputSchema: {
      type: 'object',
      properties: {
        kind: KIND,
        labelSelector: { type: 'string', maxLength: 1024, description: 'key=value[,key=value] (equality only).' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
      },
      required: ['kind'],
      additionalProperties: false,
    },
    outputSchema: obj({ kind: { type: 'string' }, total: { type: 'integer' }, items: { type: 'array', items: obj({ kind: { type: 'string' }, name: { type: 'string' }, ready: { type: 'string' } }) } }, ['kind', 'items']),
    annotations: READ,
    access: 'authenticated',
    scopeFor: (a) => readScope(a.kind),
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      const selector = args.labelSelector ? parseSelector(args.labelSelector) : [];
      const all = s.store.list(args.kind).filter((r) => selector.every(([k, v]) => r.metadata.labels?.[k] === v));
      return { structured: { kind: args.kind, total: all.length, items: all.slice(0, args.limit ?? 200).map(row) } };
    },
  });

  registry.add<{ kind: KindName; name: string }>({
    name: 'get_resource',
    title: 'Get a resource',
    description: 'One resource: metadata, spec (desired) and status (observed).',
    inputSchema: { type: 'object', properties: { kind: KIND, name: NAME }, required: ['kind', 'name'], additionalProperties: false },
    outputSchema: obj({ apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec: { type: 'object' }, status: { type: 'object' } }, ['kind', 'metadata']),
    annotations: READ,
    access: 'authenticated',
    scopeFor: (a) => readScope(a.kind),
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      return { structured: structuredClone(getOrFail(s, args.kind, args.name)) as unknown as Record<string, unknown> };
    },
  });

  registry.add<{ kind: KindName; name: string }>({
    name: 'describe_resource',
    title: 'Describe a resource',
    description: 'Like kubectl describe: conditions (why it is or is not Ready), generations, and the recent events the controllers recorded for it.',
    inputSchema: { type: 'object', properties: { kind: KIND, name: NAME }, required: ['kind', 'name'], additionalProperties: false },
    outputSchema: obj({ kind: { type: 'string' }, name: { type: 'string' }, conditions: { type: 'array' }, events: { type: 'array' } }, ['kind', 'name', 'conditions', 'events']),
    annotations: READ,
    access: 'authenticated',
    scopeFor: (a) => readScope(a.kind),
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      const r = getOrFail(s, args.kind, args.name);
      return {
        structured: {
          kind: r.kind,
          name: r.metadata.name,
          generation: r.metadata.generation,
          observedGeneration: r.status?.observedGeneration ?? 0,
          resourceVersion: r.metadata.resourceVersion,
          created: r.metadata.creationTimestamp,
          conditions: structuredClone(r.status?.conditions ?? []),
          events: s.events?.list(`${r.kind}/${r.metadata.name}`) ?? [],
        },
      };
    },
  });

  const objectByKind: JsonSchema[] = WRITABLE_KINDS.map((k) => ({
    if: { properties: { kind: { const: k } }, required: ['kind'] },
    then: { properties: { object: desiredResourceSchema(k) } },
  }));
  registry.add<{ operation: 'create' | 'update' | 'delete'; kind: KindName; name: string; object?: Record<string, unknown>; reason: string }>({
    name: 'propose_change',
    title: 'Propose a change',
    description:
      'Propose creating, replacing (update) or deleting any resource. `object` is the complete desired resource (apiVersion, kind, metadata, spec; no status) for create and update, validated against its kind\'s schema. Returns the proposal with its diff and risk; nothing changes until an operator approves it.',
    inputSchema: {
      type: 'object',
      properties: {
        operation: { type: 'string', enum: ['create', 'update', 'delete'] },
        kind: { type: 'string', enum: WRITABLE_KINDS, description: 'Kind of the target.' },
        name: NAME,
        object: { type: 'object', description: 'The complete desired resource (create/update).' },
        reason: { type: 'string', minLength: 1, maxLength: 4096, description: 'Why: shown to the approver.' },
      },
      required: ['operation', 'kind', 'name', 'reason'],
      allOf: objectByKind,
      additionalProperties: false,
    },
    outputSchema: PROPOSAL_OUTPUT,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    access: 'authenticated',
    visibleWith: (scopes) => WRITABLE_KINDS.some((k) => scopes.has(KIND_SCOPES[k]!.write)),
    scopeFor: (a) => KIND_SCOPES[a.kind]?.write,
    risk: 'high',
    kind: 'propose',
    async handler(args, ctx) {
      const exists = s.store.get(args.kind, args.name);
      if (args.operation === 'delete') {
        if (args.object) throw new ToolError('INVALID_ARGUMENTS', 'delete takes no object');
        if (!exists) throw new ToolError('NOT_FOUND', `${args.kind}/${args.name} does not exist, so it cannot be deleted`);
        return proposeChanges(s, [{ operation: 'delete', kind: args.kind, name: args.name }], args.reason, ctx.principal.identity);
      }
      if (!args.object) throw new ToolError('INVALID_ARGUMENTS', `${args.operation} needs object: the complete desired resource`);
      const meta = args.object.metadata as { name?: unknown } | undefined;
      if (args.object.kind !== args.kind || meta?.name !== args.name) {
        throw new ToolError('INVALID_ARGUMENTS', `object must be ${args.kind}/${args.name} (it is ${String(args.object.kind)}/${String(meta?.name)})`);
      }
      if (args.operation === 'create' && exists) throw new ToolError('ALREADY_EXISTS', `${args.kind}/${args.name} already exists; propose an update instead`);
      if (args.operation === 'update' && !exists) throw new ToolError('NOT_FOUND', `${args.kind}/${args.name} does not exist; propose a create instead`);
      return proposeChanges(s, [{ operation: args.operation, kind: args.kind, name: args.name, object: args.object }], args.reason, ctx.principal.identity);
    },
  });
}
