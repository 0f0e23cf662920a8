// The approval tools: reading proposals (any caller) and deciding them (proposals:approve). The
// proposal service enforces the rules — a different identity from the proposer, not expired, not
// stale, not already decided — exactly as for the CLI and REST; these tools only carry them over MCP.

import type { Resource } from '../../../resources/types.ts';
import { ToolError, type ToolRegistry } from '../framework.ts';
import { requireProposals, summarizeProposal, type McpServices } from '../services.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const ID = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'Proposal id (its name).' };
const COMMENT = { type: 'string', maxLength: 4096, description: 'Comment recorded with the decision.' };
const PHASES = ['Pending', 'Approved', 'Rejected', 'Applied', 'Failed', 'Expired', 'Stale'];
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required });
const PROPOSAL = obj({ id: { type: 'string' }, phase: { type: 'string' }, risk: { type: 'string' }, diff: { type: 'string' } }, ['id', 'phase']);

function detail(p: Resource): Record<string, unknown> {
  const spec = p.spec as { proposedBy?: unknown };
  const status = (p.status ?? {}) as { approvals?: unknown; appliedAt?: string; rejectedBy?: unknown; commit?: string };
  return {
    ...summarizeProposal(p),
    ...(spec.proposedBy ? { proposedBy: spec.proposedBy } : {}),
    created: p.metadata.creationTimestamp,
    ...(status.approvals ? { approvals: status.approvals } : {}),
    ...(status.rejectedBy ? { rejectedBy: status.rejectedBy } : {}),
    ...(status.appliedAt ? { appliedAt: status.appliedAt } : {}),
    ...(status.commit ? { commit: status.commit } : {}),
  };
}

async function found(s: McpServices, id: string): Promise<Resource> {
  const p = await requireProposals(s).get(id);
  if (!p) throw new ToolError('PROPOSAL_NOT_FOUND', `no proposal ${id}; list_proposals shows them`);
  return p;
}

/** registerApprovalTools declares list_proposals, get_proposal, approve_proposal and reject_proposal. */
export function registerApprovalTools(registry: ToolRegistry, s: McpServices): void {
  registry.add<{ phase?: string }>({
    name: 'list_proposals',
    title: 'List proposals',
    description: 'Proposals, newest first, optionally of one phase (Pending are waiting for approval).',
    inputSchema: { type: 'object', properties: { phase: { type: 'string', enum: PHASES } }, additionalProperties: false },
    outputSchema: obj({ proposals: { type: 'array', items: obj({ id: { type: 'string' }, phase: { type: 'string' }, risk: { type: 'string' }, reason: { type: 'string' } }) } }, ['proposals']),
    annotations: READ,
    access: 'authenticated',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      const list = await requireProposals(s).list(args.phase ? { phase: args.phase } : {});
      const sorted = [...list].sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? 1 : -1));
      return {
        structured: {
          proposals: sorted.map((p) => {
            const { diff: _d, ...rest } = summarizeProposal(p);
            return { ...rest, created: p.metadata.creationTimestamp };
          }),
        },
      };
    },
  });

  registry.add<{ id: string }>({
    name: 'get_proposal',
    title: 'Get a proposal',
    description: 'One proposal: its changes, diff, risk, phase, who proposed it and the decisions so far.',
    inputSchema: { type: 'object', properties: { id: ID }, required: ['id'], additionalProperties: false },
    outputSchema: PROPOSAL,
    annotations: READ,
    access: 'authenticated',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args) {
      return { structured: detail(await found(s, args.id)) };
    },
  });

  for (const decision of ['approve', 'reject'] as const) {
    registry.add<{ id: string; comment?: string }>({
      name: `${decision}_proposal`,
      title: decision === 'approve' ? 'Approve a proposal' : 'Reject a proposal',
      description:
        decision === 'approve'
          ? 'Approve a Pending proposal: its changes are written to the manifests and reconciled. Needs proposals:approve and a different identity from the proposer; an expired or stale proposal cannot be approved.'
          : 'Reject a Pending proposal; the comment is recorded as the reason.',
      inputSchema: { type: 'object', properties: { id: ID, comment: COMMENT }, required: ['id'], additionalProperties: false },
      outputSchema: PROPOSAL,
      annotations: { readOnlyHint: false, destructiveHint: decision === 'approve', idempotentHint: false, openWorldHint: false },
      access: 'proposals:approve',
      risk: decision === 'approve' ? 'high' : 'low',
      kind: 'decide',
      async handler(args, ctx) {
        const service = requireProposals(s);
        const p = decision === 'approve' ? await service.approve(args.id, ctx.principal, args.comment) : await service.reject(args.id, ctx.principal, args.comment);
        const out = detail(p);
        return { structured: out, summary: `Proposal ${args.id} ${decision === 'approve' ? 'approved' : 'rejected'}; phase ${String(out.phase)}.`, proposal: args.id };
      },
    });
  }
}
