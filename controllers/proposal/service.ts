// The ProposalService: the only way a write reaches the manifests directory. It builds proposals
// (validated changes, per-resource diff, risk, content hash, the base fingerprint of every target),
// decides approvals (scope, two-person rule, expiry, staleness, idempotent replays) and applies them
// write-ahead: phase Approved is durable before any file is touched, Applied only after the files
// (and the git commit), and recover() completes whatever a crash interrupted. Every decision is
// audited before it changes anything, so an audit log that cannot be written changes nothing.

import { randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { relative } from 'node:path';
import { sha256Hex } from '../../resources/canonical.ts';
import { AlreadyExistsError, ForbiddenScopeError, NotFoundError, StateIOError, SystemManagerError } from '../../resources/errors.ts';
import { describeIdentity, sameIdentity, type Identity, type Principal } from '../../resources/identity.ts';
import { API_VERSION, KINDS, isKindName, resourceKey, type KindName } from '../../resources/kinds.ts';
import type { Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { DesiredResource, Resource, ResourceStatus } from '../../resources/types.ts';
import { validateResource } from '../../resources/validation.ts';
import type { AuditEntry } from '../audit/index.ts';
import { markNotReady, markReady, markReconciling, markStalled } from '../runtime/index.ts';
import { currentInFile, manifestFileFor, planFiles, resolveManifestPath, writePlanned, type FileChange, type ManifestOrigins, type PauseHook } from './apply.ts';
import { ABSENT, desiredFingerprint, resourceDiff, toDesired } from './diff.ts';
import {
  ApplyFailedError,
  ProposalInvalidError,
  ProposalNotFoundError,
  ProposalNotPendingError,
  ProposalStaleError,
  ProposalTooLargeError,
  SelfApprovalError,
} from './errors.ts';
import { commitPaths, findProposalCommit, gitSafe, isGitWorkTree } from './git.ts';
import { proposalRisk, type Risk } from './risk.ts';

/** MAX_CHANGES is the most changes one proposal may carry (the schema's maxItems). */
export const MAX_CHANGES = 100;
/** MAX_DIFF_BYTES is the largest rendered diff (the schema's maxLength of status.diff). */
export const MAX_DIFF_BYTES = 1024 * 1024;
/** DEFAULT_TTL_MS is how long a proposal waits for a decision unless told otherwise (24 h). */
export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
/** MAX_TTL_MS caps a proposal's lifetime (30 days). */
export const MAX_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * BASE_ANNOTATION holds, on each Proposal, the desired-state fingerprint of every target when it was
 * proposed (JSON: `{"Kind/name": "sha256:…" | "absent"}`). Staleness compares these, not
 * resourceVersions, because status writes move resourceVersion all the time.
 */
export const BASE_ANNOTATION = 'systemmanager.io/base-fingerprints';
/** PAUSE_ENV names the test-only pause point (crash tests kill the process there). */
export const PAUSE_ENV = 'SYSTEMMANAGER_TEST_PAUSE_AFTER';
/** APPROVE_SCOPE is the scope approving and rejecting need. */
export const APPROVE_SCOPE = 'proposals:approve';
/** SYSTEM_IDENTITY is who the server's own transitions (expiry, staleness, recovery) are attributed to. */
export const SYSTEM_IDENTITY: Identity = Object.freeze({ agent: 'systemmanager' });

/** ProposalPhase is a proposal's status.phase. */
export type ProposalPhase = 'Pending' | 'Approved' | 'Rejected' | 'Applied' | 'Failed' | 'Expired' | 'Stale';

/** ChangeInput is one requested change; kind and name may come from the object. */
export interface ChangeInput {
  operation: 'create' | 'update' | 'delete';
  object?: DesiredResource;
  kind?: string;
  name?: string;
}

/** ProposeInput is what propose() takes; proposedBy is set by the caller's auth layer, never by the client. */
export interface ProposeInput {
  changes: ChangeInput[];
  reason: string;
  proposedBy: Identity;
  expiresInMs?: number;
}

/** ProposalChange is one change as stored in spec.changes. */
export interface ProposalChange {
  operation: 'create' | 'update' | 'delete';
  kind: KindName;
  name: string;
  baseResourceVersion?: string;
  object?: DesiredResource;
}

/** ProposalSpec is a Proposal's spec. */
export interface ProposalSpec {
  changes: ProposalChange[];
  reason: string;
  risk: Risk;
  expiresAt: string;
  proposedBy: Identity;
}

/** Approval is one entry of status.approvals. */
export interface Approval {
  by: Identity;
  at: string;
  comment?: string;
  selfApproved: boolean;
}

/** AuditSink is the part of the AuditLog the service needs. */
export interface AuditSink {
  append(entry: AuditEntry): Promise<void>;
}

/** ProposalServiceOptions configure a ProposalService. */
export interface ProposalServiceOptions {
  store: ResourceStore;
  /** source: where resources came from (a ManifestSource). */
  source: ManifestOrigins;
  audit: AuditSink;
  manifestsDir: string;
  logger: Logger;
  /** allowSelfApproval: single-operator setups; every self-approval is marked and audited. */
  allowSelfApproval?: boolean;
  defaultTtlMs?: number;
  now?: () => Date;
  /** git: commit applied proposals; 'auto' (default) when the manifests directory is a work tree. */
  git?: boolean | 'auto';
  /** pause: called at apply steps; defaults to the PAUSE_ENV hook (inert unless a test sets it). */
  pause?: PauseHook;
}

/** ApprovalOutcome is approve()'s result with a human message; `replayed` when nothing was done again. */
export interface ApprovalOutcome {
  proposal: Resource;
  replayed: boolean;
  message: string;
}

type ProposalResource = Resource;

/** specOf reads a Proposal's spec with its shape. */
function specOf(p: Resource): ProposalSpec {
  return p.spec as unknown as ProposalSpec;
}

/** ProposalService creates, decides and applies proposals. Mutations run one at a time. */
export class ProposalService {
  private readonly store: ResourceStore;
  private readonly source: ManifestOrigins;
  private readonly audit: AuditSink;
  private readonly manifestsDir: string;
  private readonly log: Logger;
  private readonly allowSelfApproval: boolean;
  private readonly defaultTtlMs: number;
  private readonly now: () => Date;
  private readonly gitMode: boolean | 'auto';
  private readonly pause: PauseHook;
  private lock: Promise<unknown> = Promise.resolve();
  private root: string | undefined;
  private gitEnabled: boolean | undefined;

  constructor(opts: ProposalServiceOptions) {
    this.store = opts.store;
    this.source = opts.source;
    this.audit = opts.audit;
    this.manifestsDir = opts.manifestsDir;
    this.log = opts.logger;
    this.allowSelfApproval = opts.allowSelfApproval ?? false;
    this.defaultTtlMs = opts.defaultTtlMs ?? DEFAULT_TTL_MS;
    this.now = opts.now ?? (() => new Date());
    this.gitMode = opts.git ?? 'auto';
    this.pause = opts.pause ?? envPauseHook();
  }

  /** get returns a proposal by name. */
  get(id: string): Resource | undefined {
    return this.store.get('Proposal', id);
  }

  /** list returns proposals, oldest first (names sort by creation time), optionally of one phase. */
  list(filter: { phase?: string } = {}): Resource[] {
    return this.store.list('Proposal').filter((p) => !filter.phase || p.status?.phase === filter.phase);
  }

  /** propose validates the changes and records a Pending proposal; nothing is written to the manifests. */
  propose(input: ProposeInput): Promise<Resource> {
    // Size first: a huge request is refused before any work is spent on it.
    if (!input || !Array.isArray(input.changes)) return Promise.reject(new ProposalInvalidError('/spec/changes: must be a list of changes'));
    if (input.changes.length > MAX_CHANGES) {
      return Promise.reject(new ProposalTooLargeError(`a proposal may carry at most ${MAX_CHANGES} changes; this one has ${input.changes.length}. Split it.`));
    }
    return this.serialize(() => this.doPropose(input));
  }

  /** approve approves (and applies) a proposal; see approveWithOutcome. */
  async approve(id: string, by: Principal, comment?: string): Promise<Resource> {
    return (await this.approveWithOutcome(id, by, comment)).proposal;
  }

  /**
   * approveWithOutcome checks the approval rules, records the approval durably, applies the changes
   * and returns the proposal in its resulting phase. A replay by someone who already approved
   * returns the current state (`replayed: true`) and does nothing again.
   */
  approveWithOutcome(id: string, by: Principal, comment?: string): Promise<ApprovalOutcome> {
    return this.serialize(() => this.doApprove(id, by, comment));
  }

  /** reject closes a Pending proposal without applying it. */
  reject(id: string, by: Principal, comment?: string): Promise<Resource> {
    return this.serialize(() => this.doReject(id, by, comment));
  }

  /**
   * refresh moves a Pending proposal to Expired at expiresAt or to Stale when a target's desired state
   * moved; it returns how long until it should be looked at again (undefined: never).
   */
  refresh(id: string): Promise<number | undefined> {
    return this.serialize(() => this.doRefresh(id));
  }

  /** recover completes Approved proposals a crash interrupted, so each phase matches the files on disk. */
  recover(): Promise<void> {
    return this.serialize(async () => {
      for (const p of this.list({ phase: 'Approved' }) as ProposalResource[]) {
        this.log.info('completing a proposal approved before a restart', { proposal: p.metadata.name });
        try {
          await this.applyApproved(p, true);
        } catch (err) {
          this.log.error('could not complete an approved proposal', { proposal: p.metadata.name, error: err as Error });
        }
      }
    });
  }

  /** targetsOf lists the `Kind/name` keys a proposal changes. */
  targetsOf(p: Resource): string[] {
    return (specOf(p).changes ?? []).map((c) => resourceKey(c.kind, c.name));
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => {});
    return run;
  }

  private async manifestsRoot(): Promise<string> {
    this.root ??= await realpath(this.manifestsDir);
    return this.root;
  }

  private async useGit(): Promise<boolean> {
    if (this.gitMode === false) return false;
    this.gitEnabled ??= await isGitWorkTree(await this.manifestsRoot());
    if (this.gitMode === true && !this.gitEnabled) throw new ApplyFailedError(`git is required but ${this.manifestsDir} is not a git work tree`);
    return this.gitEnabled;
  }

  private async doPropose(input: ProposeInput): Promise<Resource> {
    if (input.changes.length === 0) throw new ProposalInvalidError('/spec/changes: a proposal needs at least one change');
    const now = this.now();
    const ttl = input.expiresInMs ?? this.defaultTtlMs;
    if (!Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL_MS) throw new ProposalInvalidError(`expiresInMs must be between 1 and ${MAX_TTL_MS} ms`);
    const root = await this.manifestsRoot();

    const changes: ProposalChange[] = [];
    const base: Record<string, string> = {};
    const diffs: string[] = [];
    for (const [i, raw] of input.changes.entries()) {
      const at = `/spec/changes/${i}`;
      if (!raw || typeof raw !== 'object') throw new ProposalInvalidError(`${at}: must be a mapping`);
      const { operation } = raw;
      if (operation !== 'create' && operation !== 'update' && operation !== 'delete') {
        throw new ProposalInvalidError(`${at}/operation: must be one of: "create", "update", "delete"`);
      }
      let object: DesiredResource | undefined;
      let kind: string | undefined = raw.kind;
      let name: string | undefined = raw.name;
      if (operation === 'delete') {
        if (raw.object !== undefined) throw new ProposalInvalidError(`${at}/object: a delete takes no object`);
      } else {
        if (raw.object === undefined) throw new ProposalInvalidError(`${at}/object: required field is missing (a ${operation} needs the complete resource)`);
        const outcome = validateResource(raw.object);
        const target = outcome.kind && outcome.name ? `${outcome.kind}/${outcome.name}: ` : '';
        if (!outcome.ok) {
          throw new ProposalInvalidError(`${at}/object: ${target}${outcome.issues.map((x) => `${x.pointer || '/'}: ${x.message}`).join('; ')}`, outcome.code);
        }
        if ((kind !== undefined && kind !== outcome.kind) || (name !== undefined && name !== outcome.name)) {
          throw new ProposalInvalidError(`${at}: kind/name ${kind}/${name} do not match the object's ${outcome.kind}/${outcome.name}`);
        }
        kind = outcome.kind;
        name = outcome.name;
        object = toDesired(outcome.resource);
      }
      if (!isKindName(kind)) throw new ProposalInvalidError(`${at}/kind: unknown kind ${JSON.stringify(kind)}`, 'UNKNOWN_KIND');
      if (KINDS[kind].storage !== 'manifests') throw new ProposalInvalidError(`${at}/kind: ${kind} resources are created by the server and cannot be proposed`);
      if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
        throw new ProposalInvalidError(`${at}/name: ${JSON.stringify(name)} is not a DNS-1123 label`);
      }
      const key = resourceKey(kind, name);
      if (key in base) throw new ProposalInvalidError(`${at}: ${key} is changed twice in one proposal`);
      const current = this.store.get(kind, name);
      if (operation === 'create' && current) throw new AlreadyExistsError(kind, name);
      if (operation !== 'create' && !current) throw new NotFoundError(kind, name);
      const file = manifestFileFor(this.source, kind, name);
      await resolveManifestPath(root, file); // refuse a target outside the directory now, not at approval
      base[key] = desiredFingerprint(current);
      changes.push({
        operation,
        kind,
        name,
        ...(operation !== 'create' ? { baseResourceVersion: current!.metadata.resourceVersion } : {}),
        ...(object ? { object } : {}),
      });
      diffs.push(resourceDiff(file, current ? toDesired(current) : undefined, object));
    }
    const diff = diffs.join('');
    if (Buffer.byteLength(diff) > MAX_DIFF_BYTES) throw new ProposalTooLargeError(`the rendered diff is ${Buffer.byteLength(diff)} bytes; the limit is ${MAX_DIFF_BYTES}. Split the proposal.`);

    const spec: ProposalSpec = {
      changes,
      reason: input.reason,
      risk: proposalRisk(changes),
      expiresAt: new Date(now.getTime() + ttl).toISOString(),
      proposedBy: cleanIdentity(input.proposedBy),
    };
    const id = this.newName(now);
    const desired: DesiredResource = { apiVersion: API_VERSION, kind: 'Proposal', metadata: { name: id, annotations: { [BASE_ANNOTATION]: JSON.stringify(base) } }, spec: spec as unknown as Record<string, unknown> };
    const checked = validateResource(desired);
    if (!checked.ok) throw new ProposalInvalidError(checked.issues.map((x) => `${x.pointer}: ${x.message}`).join('; '));

    const targets = changes.map((c) => `${c.operation} ${c.kind}/${c.name}`).join(', ');
    await this.audit.append({ identity: spec.proposedBy, action: 'proposal.created', outcome: 'allowed', proposal: id, target: targets, detail: `risk ${spec.risk}: ${spec.reason}` });
    const status: ResourceStatus = { phase: 'Pending', diff, contentHash: contentHash(changes), approvals: [] };
    try {
      const created = this.store.create(desired);
      markNotReady(status, 'AwaitingApproval', `waiting for approval by an identity other than ${describeIdentity(spec.proposedBy)}`, this.ctx(created));
      this.store.updateStatus('Proposal', id, { ...status, observedGeneration: created.metadata.generation });
      await this.store.flush();
    } catch (err) {
      this.store.delete('Proposal', id);
      await this.store.flush().catch(() => {});
      await this.audit.append({ identity: spec.proposedBy, action: 'proposal.created', outcome: 'failed', proposal: id, detail: (err as Error).message }).catch(() => {});
      throw err instanceof SystemManagerError ? err : new StateIOError(`cannot record proposal ${id}: ${(err as Error).message}`, { cause: err });
    }
    this.log.info('proposal created', { proposal: id, risk: spec.risk, changes: changes.length, by: spec.proposedBy.agent });
    return this.get(id)!;
  }

  private async doApprove(id: string, by: Principal, comment: string | undefined): Promise<ApprovalOutcome> {
    const p = this.mustGet(id);
    const identity = cleanIdentity(by.identity);
    const deny = async (err: Error) => {
      await this.audit.append({ identity, action: 'proposal.approved', outcome: 'denied', scope: APPROVE_SCOPE, proposal: id, target: this.targetsOf(p).join(', '), detail: err.message });
      return err;
    };
    if (!by.scopes.has(APPROVE_SCOPE)) throw await deny(new ForbiddenScopeError(APPROVE_SCOPE, 'approving a proposal'));
    const status = p.status ?? {};
    const phase = status.phase as ProposalPhase;
    const approvals = (status.approvals as Approval[] | undefined) ?? [];
    if ((phase === 'Approved' || phase === 'Applied') && approvals.some((a) => sameIdentity(a.by, identity))) {
      const message = `proposal ${id} was already approved by ${describeIdentity(identity)} and is ${phase}${status.commit ? ` (commit ${String(status.commit).slice(0, 12)})` : ''}; nothing was done again`;
      await this.audit.append({ identity, action: 'proposal.approved', outcome: 'denied', scope: APPROVE_SCOPE, proposal: id, detail: `replayed approval: ${message}` });
      return { proposal: p, replayed: true, message };
    }
    if (phase !== 'Pending') throw await deny(notPending(p));
    if (this.isExpired(p)) {
      await this.transition(p, 'Expired', `expired at ${specOf(p).expiresAt} without a decision`, 'proposal.expired');
      throw await deny(notPending(this.get(id)!));
    }
    const self = sameIdentity(specOf(p).proposedBy, identity);
    if (self && !this.allowSelfApproval) throw await deny(new SelfApprovalError(id, describeIdentity(specOf(p).proposedBy)));
    const stale = this.staleTargets(p);
    if (stale.length) {
      await this.transition(p, 'Stale', staleMessage(stale), 'proposal.stale', identity);
      throw new ProposalStaleError(id, staleMessage(stale));
    }

    await this.audit.append({
      identity,
      action: 'proposal.approved',
      outcome: 'allowed',
      scope: APPROVE_SCOPE,
      proposal: id,
      target: this.targetsOf(p).join(', '),
      detail: [self ? 'self-approved (allowSelfApproval is on)' : undefined, comment].filter(Boolean).join(': ') || undefined,
    });
    // Write-ahead: the approval (and the content hash it pins) is durable before any file changes.
    const approval: Approval = { by: identity, at: this.now().toISOString(), ...(comment ? { comment } : {}), selfApproved: self };
    const next: ResourceStatus = structuredClone(status);
    next.phase = 'Approved';
    next.approvals = [...approvals, approval];
    next.message = `approved by ${describeIdentity(identity)}${self ? ' (self-approved)' : ''}; applying`;
    markReconciling(next, 'Applying', 'writing the manifests', this.ctx(p));
    this.store.updateStatus('Proposal', id, next);
    try {
      await this.store.flush();
    } catch (err) {
      this.store.updateStatus('Proposal', id, status);
      await this.audit.append({ identity, action: 'proposal.approved', outcome: 'failed', proposal: id, detail: `the approval could not be persisted: ${(err as Error).message}` }).catch(() => {});
      throw err;
    }
    await this.pause('approved');
    const applied = await this.applyApproved(this.get(id) as ProposalResource, false);
    return { proposal: applied, replayed: false, message: `proposal ${id} applied${applied.status?.commit ? ` (commit ${String(applied.status.commit).slice(0, 12)})` : ''}` };
  }

  /**
   * applyApproved takes an Approved proposal to Applied (or Failed). It is idempotent: changes the
   * files already hold are not written again, and an existing commit for the proposal is reused.
   */
  private async applyApproved(p: ProposalResource, recovering: boolean): Promise<Resource> {
    const id = p.metadata.name;
    const approvals = (p.status?.approvals as Approval[] | undefined) ?? [];
    const approver = approvals.at(-1)?.by ?? SYSTEM_IDENTITY;
    let planned: Awaited<ReturnType<typeof planFiles>> = [];
    let files: string[] = [];
    let commit: string | undefined;
    try {
      if (contentHash(specOf(p).changes) !== p.status?.contentHash) {
        throw new ApplyFailedError(`the proposal's content changed after it was proposed (content hash mismatch); refusing to apply it`);
      }
      const root = await this.manifestsRoot();
      const fileChanges: FileChange[] = specOf(p).changes.map((c) => ({ ...c, file: manifestFileFor(this.source, c.kind, c.name) }));
      const base = baseFingerprints(p);
      const todo: FileChange[] = [];
      for (const c of fileChanges) {
        const onDisk = await currentInFile(root, c.file, c.kind, c.name);
        const done = c.operation === 'delete' ? onDisk === undefined : onDisk !== undefined && desiredFingerprint(onDisk) === desiredFingerprint(c.object);
        if (done) continue;
        // Not yet written: its target must still be what the proposal was made against.
        const now = desiredFingerprint(this.store.get(c.kind, c.name));
        if (recovering && now !== base[resourceKey(c.kind, c.name)]) {
          throw new ApplyFailedError(`${c.kind}/${c.name} changed while applying was interrupted; not overwriting it`);
        }
        todo.push(c);
      }
      planned = await planFiles(root, todo);
      files = [...new Set(await Promise.all(fileChanges.map(async (c) => relative(root, await resolveManifestPath(root, c.file)))))];
      await writePlanned(planned, this.pause);
      await this.pause('files-written');
      if (await this.useGit()) {
        commit = await findProposalCommit(root, id);
        if (!commit) {
          try {
            commit = await commitPaths(root, files, gitAuthor(approver), commitMessage(p, approvals));
          } catch (err) {
            await writePlanned(planned.map((f) => ({ ...f, before: f.after, after: f.before }))).catch(() => {});
            throw new ApplyFailedError(`git commit failed, the files were restored: ${(err as Error).message}`, { cause: err });
          }
        }
        await this.pause('committed');
      }
    } catch (err) {
      await this.failApply(p, approver, err as Error);
      throw err instanceof SystemManagerError ? err : new ApplyFailedError(`applying proposal ${id} failed: ${(err as Error).message}`, { cause: err });
    }
    const next: ResourceStatus = structuredClone(p.status ?? {});
    next.phase = 'Applied';
    next.appliedAt = this.now().toISOString();
    if (commit) next.commit = commit;
    next.message = `applied ${specOf(p).changes.length} change${specOf(p).changes.length === 1 ? '' : 's'} to ${files.join(', ')}${commit ? ` in commit ${commit.slice(0, 12)}` : ''}`;
    markReady(next, 'Applied', next.message as string, this.ctx(p));
    this.store.updateStatus('Proposal', id, next);
    await this.store.flush().catch((err: Error) => this.log.error('cannot persist the Applied phase yet; it will be retried', { proposal: id, error: err }));
    await this.audit
      .append({ identity: approver, action: 'proposal.applied', outcome: 'succeeded', proposal: id, target: files.join(', '), detail: commit ? `commit ${commit}` : undefined })
      .catch((err: Error) => this.log.error('the proposal was applied but its outcome could not be audited', { proposal: id, error: err }));
    this.log.info('proposal applied', { proposal: id, files, commit, recovering });
    return this.get(id)!;
  }

  private async failApply(p: ProposalResource, approver: Identity, err: Error): Promise<void> {
    const id = p.metadata.name;
    const current = this.get(id) ?? p;
    const next: ResourceStatus = structuredClone(current.status ?? {});
    next.phase = 'Failed';
    next.message = clip(err.message, 32_000);
    markStalled(next, 'ApplyFailed', clip(err.message, 2048), this.ctx(p));
    this.store.updateStatus('Proposal', id, next);
    await this.store.flush().catch((e: Error) => this.log.error('cannot persist the Failed phase yet', { proposal: id, error: e }));
    await this.audit.append({ identity: approver, action: 'proposal.failed', outcome: 'failed', proposal: id, detail: err.message }).catch((e: Error) => this.log.error('cannot audit a failed apply', { proposal: id, error: e }));
    this.log.warn('proposal failed', { proposal: id, error: err.message });
  }

  private async doReject(id: string, by: Principal, comment: string | undefined): Promise<Resource> {
    const p = this.mustGet(id);
    const identity = cleanIdentity(by.identity);
    const deny = async (err: Error) => {
      await this.audit.append({ identity, action: 'proposal.rejected', outcome: 'denied', scope: APPROVE_SCOPE, proposal: id, detail: err.message });
      return err;
    };
    if (!by.scopes.has(APPROVE_SCOPE)) throw await deny(new ForbiddenScopeError(APPROVE_SCOPE, 'rejecting a proposal'));
    const status = p.status ?? {};
    if (status.phase === 'Rejected' && status.rejectedBy && sameIdentity(status.rejectedBy as Identity, identity)) return p;
    if (status.phase !== 'Pending') throw await deny(notPending(p));
    if (this.isExpired(p)) {
      await this.transition(p, 'Expired', `expired at ${specOf(p).expiresAt} without a decision`, 'proposal.expired');
      throw await deny(notPending(this.get(id)!));
    }
    await this.audit.append({ identity, action: 'proposal.rejected', outcome: 'allowed', scope: APPROVE_SCOPE, proposal: id, target: this.targetsOf(p).join(', '), detail: comment });
    const next: ResourceStatus = structuredClone(status);
    next.phase = 'Rejected';
    next.rejectedBy = identity;
    next.rejectedAt = this.now().toISOString();
    next.message = comment ? clip(comment, 4096) : `rejected by ${describeIdentity(identity)}`;
    markNotReady(next, 'Rejected', next.message as string, this.ctx(p));
    this.store.updateStatus('Proposal', id, next);
    try {
      await this.store.flush();
    } catch (err) {
      this.store.updateStatus('Proposal', id, status);
      throw err;
    }
    return this.get(id)!;
  }

  private async doRefresh(id: string): Promise<number | undefined> {
    const p = this.get(id) as ProposalResource | undefined;
    if (!p || p.status?.phase !== 'Pending') return undefined;
    if (this.isExpired(p)) {
      await this.transition(p, 'Expired', `expired at ${specOf(p).expiresAt} without a decision`, 'proposal.expired');
      return undefined;
    }
    const stale = this.staleTargets(p);
    if (stale.length) {
      await this.transition(p, 'Stale', staleMessage(stale), 'proposal.stale');
      return undefined;
    }
    return Math.max(0, Date.parse(specOf(p).expiresAt) - this.now().getTime());
  }

  /** transition audits, then writes a terminal phase (Expired, Stale) durably. */
  private async transition(p: Resource, phase: 'Expired' | 'Stale', message: string, action: string, identity: Identity = SYSTEM_IDENTITY): Promise<void> {
    const id = p.metadata.name;
    await this.audit.append({ identity, action, outcome: phase === 'Stale' ? 'failed' : 'succeeded', proposal: id, target: this.targetsOf(p).join(', '), detail: message });
    const next: ResourceStatus = structuredClone(p.status ?? {});
    next.phase = phase;
    next.message = clip(message, 32_000);
    markNotReady(next, phase, clip(message, 2048), this.ctx(p));
    this.store.updateStatus('Proposal', id, next);
    await this.store.flush();
    this.log.info(`proposal ${phase.toLowerCase()}`, { proposal: id, message });
  }

  /** staleTargets lists the targets whose desired state (or existence) moved since the proposal was made. */
  private staleTargets(p: Resource): string[] {
    const base = baseFingerprints(p);
    const out: string[] = [];
    for (const c of specOf(p).changes) {
      const key = resourceKey(c.kind, c.name);
      const now = desiredFingerprint(this.store.get(c.kind, c.name));
      if (base[key] === undefined || now !== base[key]) {
        out.push(now === ABSENT ? `${key} was deleted` : base[key] === ABSENT ? `${key} was created meanwhile` : `${key} changed`);
      }
    }
    return out;
  }

  private isExpired(p: Resource): boolean {
    const at = Date.parse(String((p.spec as Record<string, unknown>).expiresAt));
    return Number.isFinite(at) && this.now().getTime() >= at;
  }

  private mustGet(id: string): ProposalResource {
    const p = typeof id === 'string' ? this.get(id) : undefined;
    if (!p) throw new ProposalNotFoundError(String(id));
    return p as ProposalResource;
  }

  private ctx(p: Resource): { generation: number; now: () => Date } {
    return { generation: p.metadata.generation, now: this.now };
  }

  private newName(now: Date): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    for (;;) {
      const name = `p-${stamp}-${randomBytes(2).toString('hex')}`;
      if (!this.get(name)) return name;
    }
  }
}

/** contentHash is what approval pins: sha256 of the canonical JSON of spec.changes. */
export function contentHash(changes: readonly ProposalChange[]): string {
  return `sha256:${sha256Hex(changes)}`;
}

/** envPauseHook returns the test-only pause hook: at the point named by PAUSE_ENV it prints a marker and waits forever. */
export function envPauseHook(): PauseHook {
  const at = process.env[PAUSE_ENV];
  if (!at) return async () => {};
  return async (point) => {
    if (point !== at) return;
    process.stdout.write(`SYSTEMMANAGER_TEST_PAUSED ${point}\n`);
    await new Promise<never>(() => {
      setInterval(() => {}, 1 << 30);
    });
  };
}

function baseFingerprints(p: Resource): Record<string, string> {
  try {
    const parsed = JSON.parse(p.metadata.annotations?.[BASE_ANNOTATION] ?? '{}') as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function notPending(p: Resource): ProposalNotPendingError {
  const s = p.status ?? {};
  const phase = String(s.phase ?? 'Unknown');
  const detail: Record<string, string> = {
    Approved: 'it is being applied',
    Applied: `it was already applied at ${String(s.appliedAt)}${s.commit ? ` (commit ${String(s.commit).slice(0, 12)})` : ''}`,
    Rejected: `it was rejected by ${s.rejectedBy ? describeIdentity(s.rejectedBy as Identity) : 'someone'}`,
    Expired: `it expired at ${String((p.spec as Record<string, unknown>).expiresAt)}`,
    Stale: `a target changed since it was proposed (${String(s.message ?? '')})`,
    Failed: `applying it failed (${String(s.message ?? '')})`,
  };
  return new ProposalNotPendingError(p.metadata.name, phase, `${detail[phase] ?? 'it is not pending'}; make a new proposal`);
}

function staleMessage(stale: string[]): string {
  return `${stale.join('; ')} since the proposal was made`;
}

function cleanIdentity(i: Identity): Identity {
  if (!i || typeof i.agent !== 'string' || i.agent === '') throw new ProposalInvalidError('an identity needs an agent');
  return {
    agent: i.agent,
    ...(i.tokenId ? { tokenId: i.tokenId } : {}),
    ...(i.tailscaleLogin ? { tailscaleLogin: i.tailscaleLogin } : {}),
    ...(i.tailscaleName ? { tailscaleName: i.tailscaleName } : {}),
  };
}

function gitAuthor(i: Identity): { name: string; email: string } {
  const name = gitSafe(i.tailscaleName ?? i.agent);
  const login = i.tailscaleLogin && /^[^\s@<>]+@[^\s@<>]+$/.test(i.tailscaleLogin) ? i.tailscaleLogin : undefined;
  return { name, email: login ?? `${i.agent.replace(/[^A-Za-z0-9._-]/g, '-') || 'agent'}@systemmanager.invalid` };
}

function commitMessage(p: ProposalResource, approvals: readonly Approval[]): string {
  const lines = [
    specOf(p).reason.replace(/\0/g, '').trim() || p.metadata.name,
    '',
    `Proposal: ${p.metadata.name}`,
    `Proposed-by: ${describeIdentity(specOf(p).proposedBy)}`,
    ...approvals.map((a) => `Approved-by: ${describeIdentity(a.by)}${a.selfApproved ? ' (self-approved)' : ''}`),
  ];
  return lines.join('\n').replace(/\0/g, '');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
