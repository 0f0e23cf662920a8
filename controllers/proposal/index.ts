// Proposals: the only path from a write request to the manifests directory. The ProposalService
// builds proposals (validated changes, unified diff, risk, content hash, target fingerprints),
// decides approvals (proposals:approve scope, two-person rule, expiry, staleness, idempotent
// replays), applies them write-ahead (atomic manifest writes, one git commit per proposal) and
// recovers after a crash; the proposal controller expires and marks stale Pending proposals. Every
// decision goes to the audit log first. Imports controllers/runtime, controllers/audit and
// resources/ only.
//
// Staleness is decided by each target's desired state (a hash of labels, annotations and spec, and
// whether it exists), recorded at proposal time in the annotation BASE_ANNOTATION. The
// baseResourceVersion in spec.changes is recorded as the schema asks but not compared: the store
// bumps resourceVersion on every status write, which would make nearly every proposal stale.

import type { ResourceStore } from '../../resources/store.ts';
import type { Controller, ControllerManager } from '../runtime/index.ts';
import { ProposalReconciler, watchTargets } from './reconciler.ts';
import { ProposalService, type ProposalServiceOptions } from './service.ts';

export { defaultManifestPath, editManifestText, manifestFileFor, planFiles, resolveManifestPath, writePlanned } from './apply.ts';
export type { FileChange, ManifestOrigins, PauseHook, PlannedFile } from './apply.ts';
export { ABSENT, desiredFingerprint, manifestYaml, renderDiff, resourceDiff, toDesired } from './diff.ts';
export {
  ApplyFailedError,
  ManifestPathOutsideError,
  ProposalInvalidError,
  ProposalNotFoundError,
  ProposalNotPendingError,
  ProposalStaleError,
  ProposalTooLargeError,
  SelfApprovalError,
} from './errors.ts';
export { commitPaths, findProposalCommit, isGitWorkTree } from './git.ts';
export type { GitAuthor } from './git.ts';
export { ProposalReconciler, watchTargets } from './reconciler.ts';
export { RISK_ORDER, changeRisk, containerIsPrivileged, proposalRisk } from './risk.ts';
export type { Risk, RiskInput } from './risk.ts';
export {
  APPROVE_SCOPE,
  BASE_ANNOTATION,
  DEFAULT_TTL_MS,
  MAX_CHANGES,
  MAX_DIFF_BYTES,
  MAX_TTL_MS,
  PAUSE_ENV,
  ProposalService,
  SYSTEM_IDENTITY,
  contentHash,
  envPauseHook,
} from './service.ts';
export type { Approval, ApprovalOutcome, AuditSink, ChangeInput, ProposalChange, ProposalPhase, ProposalServiceOptions, ProposalSpec, ProposeInput } from './service.ts';

/** createProposalService builds the service; call recover() once the manifests source has loaded. */
export function createProposalService(opts: ProposalServiceOptions): ProposalService {
  return new ProposalService(opts);
}

/** createProposalController registers the proposal controller and the watch that marks proposals stale; `stop` ends the watch. */
export function createProposalController(
  manager: ControllerManager,
  opts: { store: ResourceStore; service: ProposalService },
): { controller: Controller; stop: () => void } {
  const controller = manager.add({ name: 'proposal', kind: 'Proposal', concurrency: 1, timeoutMs: 30_000, resyncMs: 60_000 }, new ProposalReconciler(opts.service));
  const stop = watchTargets(opts.store, opts.service, (key) => controller.enqueue(key));
  return { controller, stop };
}
