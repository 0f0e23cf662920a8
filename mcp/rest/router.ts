// The REST router. Paths follow Kubernetes: `/<plural>` lists, `/<plural>/<name>` gets,
// `/<plural>/<name>/describe` (or `?describe=1`) describes; proposals add create, approve, reject.
// Reads need the kind's read scope (resources/scopes.ts KIND_SCOPES) or its write scope; proposals are readable by any
// authenticated caller; proposing needs each target kind's write scope; deciding needs
// proposals:approve (the proposal service checks the two-person rule).

import express, { type Request, type Response, type Router } from 'express';
import { ForbiddenScopeError, NotFoundError, SystemManagerError } from '../../resources/errors.ts';
import type { Identity, Principal } from '../../resources/identity.ts';
import { KIND_NAMES, KINDS, type KindInfo, type KindName } from '../../resources/kinds.ts';
import { KIND_SCOPES } from '../../resources/scopes.ts';
import type { ManifestSource } from '../../resources/source.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Resource } from '../../resources/types.ts';
import type { RecordedEvent } from '../../controllers/runtime/index.ts';
import { jsonErrorHandler, principalOf, requireScope, yamlBody, type SecurityAudit } from '../http/security.ts';
import { changesFromBody, changesFromYaml, type ProposedChange } from './changes.ts';
import { describeResource } from './describe.ts';

/** REST_PREFIX is where the agent mounts the router. */
export const REST_PREFIX = '/api/v1alpha1';

/**
 * ProposalApi is what the router needs of the proposal service (controllers/proposal); results may
 * be plain or promised. Its errors carry stable codes (PROPOSAL_NOT_FOUND, SELF_APPROVAL, ...).
 */
export interface ProposalApi {
  propose(input: { changes: ProposedChange[]; reason: string; proposedBy: Identity }): Resource | Promise<Resource>;
  approve(id: string, principal: Principal, comment?: string): Resource | Promise<Resource>;
  reject(id: string, principal: Principal, comment?: string): Resource | Promise<Resource>;
  get?(id: string): Resource | undefined | Promise<Resource | undefined>;
  list?(filter: { phase?: string }): Resource[] | Promise<Resource[]>;
  renderDiff?(proposal: Resource, opts: { color: boolean }): string;
}

/** RestOptions are the parts the router reads. */
export interface RestOptions {
  store: ResourceStore;
  /** proposals: the proposal service; without it proposals can be read (from the store) but not created or decided. */
  proposals?: ProposalApi;
  /** events: recent events per key (the controller manager's recorder). */
  events?: { list(key: string): RecordedEvent[] };
  /** source: the manifests source, for describe's origin file and manifest errors. */
  source?: Pick<ManifestSource, 'errorsFor' | 'originOf'>;
  /** bodyLimitBytes: the limit of YAML proposal bodies (JSON bodies are read by jsonBody before the router). */
  bodyLimitBytes?: number;
  /** audit receives scope denials (the guards in mcp/http audit the other denials). */
  audit?: SecurityAudit;
  /** onUnexpected: told about errors without a stable code (they answer 500). */
  onUnexpected?: (err: unknown, req: Request) => void;
}

const PLURALS = KIND_NAMES.map((k) => KINDS[k].plural);

/** createRestRouter builds the router; mount it after the guards of mcp/http. */
export function createRestRouter(opts: RestOptions): Router {
  const router = express.Router({ caseSensitive: true, strict: false });
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/whoami', (_req, res) => {
    const p = principalOf(res);
    res.json({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'WhoAmI', identity: p.identity, scopes: [...p.scopes].sort() });
  });

  router.get('/:plural', async (req, res) => {
    const info = kindOf(req.params.plural!);
    const phase = typeof req.query.phase === 'string' ? req.query.phase : undefined;
    const items = info.kind === 'Proposal' ? await listProposals(opts, phase) : (requireRead(res, info.kind), opts.store.list(info.kind));
    res.json({ apiVersion: 'systemmanager.io/v1alpha1', kind: `${info.kind}List`, items });
  });

  router.get('/:plural/:name', async (req, res) => {
    const object = await read(opts, res, req.params.plural!, req.params.name!);
    const d = req.query.describe;
    res.json(d === '1' || d === 'true' ? describeResource(object, opts) : object);
  });

  router.get('/:plural/:name/describe', async (req, res) => {
    res.json(describeResource(await read(opts, res, req.params.plural!, req.params.name!), opts));
  });

  router.get('/proposals/:name/diff', async (req, res) => {
    const proposal = await read(opts, res, 'proposals', req.params.name!);
    const color = req.query.color === '1' || req.query.color === 'true';
    const text = opts.proposals?.renderDiff ? opts.proposals.renderDiff(proposal, { color }) : String(proposal.status?.diff ?? '');
    res.type('text/plain; charset=utf-8').send(text);
  });

  router.post('/proposals', yamlBody(opts), async (req, res) => {
    const principal = principalOf(res);
    const service = needProposals(opts);
    let changes: ProposedChange[];
    let reason: unknown;
    if (typeof req.body === 'string') {
      changes = changesFromYaml(req.body, opts.store);
      reason = req.query.reason;
    } else if (req.is('application/json') && isObject(req.body)) {
      changes = changesFromBody(req.body.changes, opts.store);
      reason = req.body.reason;
    } else {
      throw new SystemManagerError('UNSUPPORTED_MEDIA_TYPE', 'send {changes, reason} as application/json, or manifests as application/yaml with ?reason=');
    }
    if (typeof reason !== 'string' || reason.trim() === '') throw new SystemManagerError('BAD_REQUEST', 'a reason is required (why the change is wanted, shown to the approver)');
    for (const c of changes) requireScope(res, KIND_SCOPES[c.kind]!.write, `proposing a change to ${c.kind}/${c.name}`);
    const proposal = await service.propose({ changes, reason, proposedBy: principal.identity });
    res.status(201).json(proposal);
  });

  for (const decision of ['approve', 'reject'] as const) {
    router.post(`/proposals/:name/${decision}`, async (req, res) => {
      requireScope(res, 'proposals:approve', `${decision === 'approve' ? 'approving' : 'rejecting'} a proposal`);
      const comment = isObject(req.body) ? req.body.comment : undefined;
      if (comment !== undefined && typeof comment !== 'string') throw new SystemManagerError('BAD_REQUEST', 'comment must be a string');
      const service = needProposals(opts);
      res.json(await service[decision](req.params.name!, principalOf(res), comment));
    });
  }

  // Known resource paths with another method: the REST API never writes a resource directly.
  router.all(['/:plural', '/:plural/:name'], (req) => {
    kindOf(String(req.params.plural));
    throw new SystemManagerError('METHOD_NOT_ALLOWED', `${req.method} is not supported here: resources change only through proposals (POST ${REST_PREFIX}/proposals)`);
  });
  router.use((req) => {
    throw new SystemManagerError('NOT_FOUND', `no such path ${REST_PREFIX}${req.path}; resource types: ${PLURALS.join(', ')}`);
  });
  router.use((err: unknown, req: Request, res: Response, next: (err?: unknown) => void) => {
    if (err instanceof ForbiddenScopeError && opts.audit) {
      const written = opts.audit.append({ action: 'access.denied', outcome: 'denied', target: `${req.method} ${REST_PREFIX}${req.path}`, scope: err.scope, detail: err.message, identity: principalOf(res).identity });
      if (written instanceof Promise) written.catch(() => {});
    }
    next(err);
  });
  router.use(jsonErrorHandler(opts.onUnexpected));
  return router;
}

function kindOf(plural: string): KindInfo {
  const info = KIND_NAMES.map((k) => KINDS[k]).find((i) => i.plural === plural);
  if (!info) throw new UnknownResourceTypeError(plural);
  return info;
}

/** UnknownResourceTypeError is a 404 that lists the resource types the API serves. */
class UnknownResourceTypeError extends SystemManagerError {
  constructor(plural: string) {
    super('NOT_FOUND', `the server has no resource type ${JSON.stringify(plural)}; known: ${PLURALS.join(', ')}`);
  }
  override toJSON(): { code: 'NOT_FOUND'; message: string; known: string[] } {
    return { code: 'NOT_FOUND', message: this.message, known: [...PLURALS] };
  }
}

/** requireRead: the kind's read scope, or its write scope (whoever may propose changes to a kind must see what they change). */
function requireRead(res: Response, kind: KindName): void {
  const scopes = KIND_SCOPES[kind];
  if (!scopes || principalOf(res).scopes.has(scopes.write)) return;
  requireScope(res, scopes.read, `reading ${KINDS[kind].plural}`);
}

async function read(opts: RestOptions, res: Response, plural: string, name: string): Promise<Resource> {
  const info = kindOf(plural);
  let object: Resource | undefined;
  if (info.kind === 'Proposal') {
    principalOf(res);
    object = opts.proposals?.get ? await opts.proposals.get(name) : opts.store.get('Proposal', name);
  } else {
    requireRead(res, info.kind);
    object = opts.store.get(info.kind, name);
  }
  if (!object) throw new NotFoundError(info.kind, name);
  return object;
}

async function listProposals(opts: RestOptions, phase: string | undefined): Promise<Resource[]> {
  if (opts.proposals?.list) return opts.proposals.list(phase ? { phase } : {});
  const all = opts.store.list('Proposal');
  return phase ? all.filter((p) => p.status?.phase === phase) : all;
}

function needProposals(opts: RestOptions): ProposalApi {
  if (!opts.proposals) throw new SystemManagerError('METHOD_NOT_ALLOWED', 'this server has no proposal service');
  return opts.proposals;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
