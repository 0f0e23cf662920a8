// The Docker tools. Reads list what Docker has (every container, images, networks) merged with what
// the store says about managed containers, and keep answering from the store when Docker is down.
// Changes never touch Docker: manage_container start/stop/restart, update_docker_container and
// pull_docker_image build Proposals against the Container and Image resources.

import { LABEL_MANAGED_BY, LABEL_NAME } from '../../../controllers/container/index.ts';
import { getCondition } from '../../../controllers/runtime/index.ts';
import { API_VERSION } from '../../../resources/kinds.ts';
import type { Identity } from '../../../resources/identity.ts';
import type { Resource } from '../../../resources/types.ts';
import { validateResource } from '../../../resources/validation.ts';
import { ToolError, type ToolRegistry } from '../framework.ts';
import type { ContainerRow } from '../docker-inventory.ts';
import { bundleSchema } from '../schema-bundle.ts';
import { approveInstructions, nowTimestamp, requireDocker, requireProposals, summarizeProposal, type McpServices, type ProposedChange } from '../services.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const PROPOSE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;

const NAME = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'The Container resource name (DNS-1123 label).' };
const REASON = { type: 'string', minLength: 1, maxLength: 4096, description: 'Why: shown to the approver.' };
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required });

/** PROPOSAL_OUTPUT is the output schema of every tool that proposes a change. */
export const PROPOSAL_OUTPUT = obj(
  {
    proposal: obj(
      {
        id: { type: 'string' },
        phase: { type: 'string' },
        risk: { type: 'string' },
        reason: { type: 'string' },
        diff: { type: 'string' },
        changes: { type: 'array', items: obj({ operation: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' } }) },
      },
      ['id', 'phase', 'risk', 'diff', 'changes'],
    ),
    approve: { type: 'string', description: 'How an operator approves it.' },
  },
  ['proposal', 'approve'],
);

/** desiredOf copies the desired part of a stored resource (what a manifest holds). */
export function desiredOf(r: Resource): Record<string, unknown> {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: { name: r.metadata.name, ...(r.metadata.labels ? { labels: { ...r.metadata.labels } } : {}), ...(r.metadata.annotations ? { annotations: { ...r.metadata.annotations } } : {}) },
    spec: structuredClone(r.spec),
  };
}

/** RequestedChange is a change before validation: the object is whatever the caller built. */
export interface RequestedChange {
  operation: ProposedChange['operation'];
  kind: string;
  name: string;
  object?: Record<string, unknown>;
}

/** proposeChanges validates the objects, submits changes as a proposal by the caller and shapes the reply every write tool gives. */
export async function proposeChanges(s: McpServices, requested: RequestedChange[], reason: string, proposedBy: Identity) {
  const changes: ProposedChange[] = requested.map((c) => {
    if (!c.object) return { operation: c.operation, kind: c.kind, name: c.name };
    const v = validateResource(c.object);
    if (!v.ok) throw new ToolError(v.code, `${c.kind}/${c.name} would not be valid: ${v.issues.map((i) => `${i.pointer || '/'}: ${i.message}`).join('; ')}`);
    return { operation: c.operation, kind: c.kind, name: c.name, object: v.resource };
  });
  const proposal = await requireProposals(s).propose({ changes, reason, proposedBy });
  const summary = summarizeProposal(proposal);
  const approve = approveInstructions(s, proposal.metadata.name);
  return {
    structured: { proposal: summary, approve },
    summary: `Proposed ${changes.map((c) => `${c.operation} ${c.kind}/${c.name}`).join(', ')} as proposal ${proposal.metadata.name} (risk ${String(summary.risk)}). ${approve}`,
    proposal: proposal.metadata.name,
    target: changes.map((c) => `${c.kind}/${c.name}`).join(', '),
  };
}

function managedContainer(s: McpServices, name: string): Resource {
  const r = s.store.get('Container', name);
  if (!r) throw new ToolError('NOT_FOUND', `Container/${name} is not a managed container (no Container resource has that name); get_container_list marks which are managed, and propose_change can create one`);
  return r;
}

/** registerDockerTools declares get_container_list, list_docker_images, get_docker_networks, manage_container, update_docker_container and pull_docker_image. */
export function registerDockerTools(registry: ToolRegistry, s: McpServices): void {
  registry.add<{ all?: boolean }>({
    name: 'get_container_list',
    title: 'Containers',
    description: 'Containers on this host: the managed ones (from their Container resources, with desired and observed state) and, when Docker answers, the unmanaged ones too. `managed` says which is which; only managed ones can be changed through proposals.',
    inputSchema: { type: 'object', properties: { all: { type: 'boolean', default: true, description: 'Include stopped containers.' } }, additionalProperties: false },
    outputSchema: obj(
      {
        dockerAvailable: { type: 'boolean' },
        dockerMessage: { type: 'string' },
        containers: { type: 'array', items: obj({ name: { type: 'string' }, managed: { type: 'boolean' }, image: { type: 'string' }, state: { type: 'string' }, desiredState: { type: 'string' }, ready: { type: 'string' }, id: { type: 'string' }, status: { type: 'string' } }, ['name', 'managed', 'state']) },
      },
      ['dockerAvailable', 'containers'],
    ),
    annotations: READ,
    access: 'container:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const includeStopped = args.all ?? true;
      // Every row has the same fields (empty where one does not apply), so TOON can write the list
      // as one table: that is where its token savings come from.
      let dockerRows: ContainerRow[] = [];
      let dockerAvailable = false;
      let dockerMessage: string | undefined;
      if (s.docker) {
        try {
          dockerRows = await s.docker.containers(ctx.signal);
          dockerAvailable = true;
        } catch (err) {
          dockerMessage = (err as Error).message;
        }
      } else {
        dockerMessage = 'no Docker engine is configured';
      }
      const ours = (c: ContainerRow) => c.labels[LABEL_MANAGED_BY] === 'systemmanager';
      const rows: Array<Record<string, unknown>> = [];
      for (const r of s.store.list('Container')) {
        const spec = r.spec as { image?: string; state?: string };
        const status = (r.status ?? {}) as { state?: string; containerID?: string };
        const state = status.state ?? 'unknown';
        if (!includeStopped && state !== 'running') continue;
        const live = dockerRows.find((c) => ours(c) && c.labels[LABEL_NAME] === r.metadata.name);
        rows.push({
          name: r.metadata.name,
          managed: true,
          image: spec.image ?? '',
          state,
          desiredState: spec.state ?? 'running',
          ready: getCondition(r.status, 'Ready')?.status ?? 'Unknown',
          id: (status.containerID ?? '').slice(0, 12),
          status: live?.status ?? '',
        });
      }
      for (const c of dockerRows) {
        // Containers labelled as ours but without a resource are being pruned; they are not offered as unmanaged.
        if (ours(c) || (!includeStopped && c.state !== 'running')) continue;
        rows.push({ name: c.name, managed: false, image: c.image, state: c.state, desiredState: '', ready: '', id: c.id, status: c.status });
      }
      return { structured: { dockerAvailable, ...(dockerMessage ? { dockerMessage } : {}), containers: rows } };
    },
  });

  registry.add({
    name: 'list_docker_images',
    title: 'Docker images',
    description: 'Local Docker images with tags and sizes.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: obj({ images: { type: 'array', items: obj({ id: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } }, sizeBytes: { type: 'number' }, created: { type: 'string' } }) } }, ['images']),
    annotations: READ,
    access: 'container:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(_args, ctx) {
      return { structured: { images: await requireDocker(s).images(ctx.signal) } };
    },
  });

  registry.add({
    name: 'get_docker_networks',
    title: 'Docker networks',
    description: 'Docker networks with driver and scope.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    outputSchema: obj({ networks: { type: 'array', items: obj({ id: { type: 'string' }, name: { type: 'string' }, driver: { type: 'string' }, scope: { type: 'string' }, internal: { type: 'boolean' } }) } }, ['networks']),
    annotations: READ,
    access: 'container:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(_args, ctx) {
      return { structured: { networks: await requireDocker(s).networks(ctx.signal) } };
    },
  });

  type ManageArgs = { name: string; action: 'start' | 'stop' | 'restart' | 'logs'; reason?: string; lines?: number; since?: string };
  registry.add<ManageArgs>({
    name: 'manage_container',
    title: 'Manage a container',
    description:
      'start, stop or restart a managed container by proposing a change to its Container resource (spec.state, or spec.restartedAt for a restart); an operator approves it and the controller carries it out. `logs` reads the last lines of any container instead (no proposal).',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', description: 'The container: a managed Container resource name (any Docker container name for logs).' },
        action: { type: 'string', enum: ['start', 'stop', 'restart', 'logs'] },
        reason: REASON,
        lines: { type: 'integer', minimum: 1, maximum: 5000, default: 100, description: 'logs: how many lines from the end.' },
        since: { type: 'string', pattern: '^[1-9][0-9]{0,6}[smhd]$', description: 'logs: only lines newer than this, e.g. 10m, 2h, 1d.' },
      },
      required: ['name', 'action'],
      additionalProperties: false,
    },
    outputSchema: obj({ proposal: { type: 'object' }, approve: { type: 'string' }, container: { type: 'string' }, lines: { type: 'array', items: { type: 'string' } } }),
    annotations: PROPOSE,
    access: 'authenticated',
    visibleWith: (scopes) => scopes.has('container:write') || scopes.has('container:read'),
    scopeFor: (a) => (a.action === 'logs' ? 'container:read' : 'container:write'),
    mutatingFor: (a) => a.action !== 'logs',
    risk: 'moderate',
    kind: 'propose',
    async handler(args, ctx) {
      if (args.action === 'logs') {
        const docker = requireDocker(s);
        const managed = s.store.get('Container', args.name);
        const id = ((managed?.status ?? {}) as { containerID?: string }).containerID ?? args.name;
        const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
        const sinceSeconds = args.since ? Math.floor(Date.now() / 1000) - Number(args.since.slice(0, -1)) * unit[args.since.slice(-1)]! : undefined;
        try {
          const lines = await docker.logs(id, { tail: args.lines ?? 100, ...(sinceSeconds ? { sinceSeconds } : {}) }, ctx.signal);
          return { structured: { container: args.name, lines } };
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404) throw new ToolError('NOT_FOUND', `no container named ${args.name}`);
          throw err;
        }
      }
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(args.name) || args.name.length > 63) throw new ToolError('INVALID_ARGUMENTS', `${args.name} is not a Container resource name (a DNS-1123 label)`);
      const current = managedContainer(s, args.name);
      const object = desiredOf(current);
      const spec = object.spec as Record<string, unknown>;
      if (args.action === 'restart') spec.restartedAt = nowTimestamp();
      else {
        const want = args.action === 'start' ? 'running' : 'stopped';
        if ((spec.state ?? 'running') === want) throw new ToolError('NO_CHANGE', `Container/${args.name} is already declared ${want}; nothing to propose`);
        spec.state = want;
      }
      return proposeChanges(s, [{ operation: 'update', kind: 'Container', name: args.name, object }], args.reason ?? `${args.action} container ${args.name} (requested by ${ctx.principal.identity.agent} over MCP)`, ctx.principal.identity);
    },
  });

  const specPatch = bundleSchema('container.schema.json', 'spec');
  delete specPatch.required;
  registry.add<{ name: string; spec: Record<string, unknown>; reason: string }>({
    name: 'update_docker_container',
    title: 'Update a container',
    description: 'Propose a change to a managed container: the fields given in `spec` replace the current ones (a top-level merge), the result is validated against the Container schema, and the diff is returned. An approved change recreates the container when its configuration changes.',
    inputSchema: { type: 'object', properties: { name: NAME, spec: { ...specPatch, description: 'Container spec fields to set.' }, reason: REASON }, required: ['name', 'spec', 'reason'], additionalProperties: false },
    outputSchema: PROPOSAL_OUTPUT,
    annotations: { ...PROPOSE, destructiveHint: true },
    access: 'container:admin',
    risk: 'high',
    kind: 'propose',
    async handler(args, ctx) {
      const current = managedContainer(s, args.name);
      const object = desiredOf(current);
      object.spec = { ...(object.spec as Record<string, unknown>), ...args.spec };
      return proposeChanges(s, [{ operation: 'update', kind: 'Container', name: args.name, object }], args.reason, ctx.principal.identity);
    },
  });

  const imageReference = bundleSchema('defs.schema.json', 'imageReference');
  registry.add<{ reference: string; name?: string; pullPolicy?: string; reason?: string }>({
    name: 'pull_docker_image',
    title: 'Pull an image',
    description: 'Propose keeping an image present: creates (or updates) an Image resource, which the image controller pulls once approved. pullPolicy Always re-pulls a moving tag on every reconcile.',
    inputSchema: {
      type: 'object',
      properties: {
        reference: { ...imageReference, description: 'Image reference, e.g. nginx:1.27 or registry.example/app@sha256:...' },
        name: { ...NAME, description: 'Image resource name (default: derived from the reference).' },
        pullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'], description: 'Default IfNotPresent.' },
        reason: REASON,
      },
      required: ['reference'],
      additionalProperties: false,
    },
    outputSchema: PROPOSAL_OUTPUT,
    annotations: PROPOSE,
    access: 'container:admin',
    risk: 'moderate',
    kind: 'propose',
    async handler(args, ctx) {
      const name = args.name ?? imageResourceName(args.reference);
      const existing = s.store.get('Image', name);
      const object = {
        apiVersion: API_VERSION,
        kind: 'Image',
        metadata: existing ? (desiredOf(existing).metadata as Record<string, unknown>) : { name },
        spec: { ...(existing ? (existing.spec as Record<string, unknown>) : {}), reference: args.reference, ...(args.pullPolicy ? { pullPolicy: args.pullPolicy } : {}) },
      };
      return proposeChanges(s, [{ operation: existing ? 'update' : 'create', kind: 'Image', name, object }], args.reason ?? `pull image ${args.reference} (requested by ${ctx.principal.identity.agent} over MCP)`, ctx.principal.identity);
    },
  });
}

/** imageResourceName derives a DNS-1123 label from an image reference: `nginx:1.27` → `nginx-1-27`. */
export function imageResourceName(reference: string): string {
  const base = reference.split('@')[0]!.split('/').slice(-1)[0]!;
  const label = base.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return label || 'image';
}
