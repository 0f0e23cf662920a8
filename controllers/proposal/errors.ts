// The proposal service's failures, one class per stable code (resources/errors.ts lists the codes
// and their HTTP statuses; docs/errors.md documents them).

import { SystemManagerError } from '../../resources/errors.ts';

/** ProposalNotFoundError: no proposal has this name. */
export class ProposalNotFoundError extends SystemManagerError {
  constructor(id: string) {
    super('PROPOSAL_NOT_FOUND', `proposal ${id} not found`);
  }
}

/** SelfApprovalError: the approver is the proposer and self-approval is off (two-person rule). */
export class SelfApprovalError extends SystemManagerError {
  constructor(id: string, who: string) {
    super('SELF_APPROVAL', `proposal ${id} was proposed by ${who}; it must be approved by a different identity (two-person rule)`);
  }
}

/** ProposalNotPendingError: the proposal can no longer be decided; `phase` says why. */
export class ProposalNotPendingError extends SystemManagerError {
  readonly phase: string;
  constructor(id: string, phase: string, detail: string) {
    super('PROPOSAL_NOT_PENDING', `proposal ${id} is ${phase.toLowerCase()}: ${detail}`);
    this.phase = phase;
  }
}

/** ProposalStaleError: a target moved since the proposal was made; it is now Stale and was not applied. */
export class ProposalStaleError extends SystemManagerError {
  constructor(id: string, detail: string) {
    super('PROPOSAL_STALE', `proposal ${id} is stale and was not applied: ${detail}`);
  }
}

/** ProposalTooLargeError: too many changes, or too large a diff. */
export class ProposalTooLargeError extends SystemManagerError {
  constructor(message: string) {
    super('PROPOSAL_TOO_LARGE', message);
  }
}

/** ProposalInvalidError: a change (or the proposal itself) fails validation; the message names the field. */
export class ProposalInvalidError extends SystemManagerError {
  constructor(message: string, code: 'SCHEMA_INVALID' | 'UNKNOWN_KIND' = 'SCHEMA_INVALID') {
    super(code, message);
  }
}

/** ManifestPathOutsideError: a path the proposal would write resolves outside the manifests directory. */
export class ManifestPathOutsideError extends SystemManagerError {
  constructor(path: string, resolved: string, root: string) {
    super('MANIFEST_PATH_OUTSIDE', `${path} resolves to ${resolved}, outside the manifests directory ${root}; nothing was written`);
  }
}

/** ApplyFailedError: writing (or committing) an approved proposal failed; it is now Failed. */
export class ApplyFailedError extends SystemManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('APPLY_FAILED', message, options);
  }
}
