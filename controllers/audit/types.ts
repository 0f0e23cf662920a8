// The shape of audit lines, shared by the writer, the chain check and the CLI.

import type { Identity } from '../../resources/identity.ts';

/** AuditOutcome: a decision (allowed/denied) or the result of carrying one out (succeeded/failed). */
export type AuditOutcome = 'allowed' | 'denied' | 'succeeded' | 'failed';

/** AuditEntry is what a caller records; the log adds time, the chain and the secret's HMAC. */
export interface AuditEntry {
  identity?: Identity;
  /** action: dotted verb such as `proposal.approved`, `token.used`, `access.denied`. */
  action: string;
  /** target: what was acted on, usually `Kind/name` (several joined with ", "). */
  target?: string;
  outcome: AuditOutcome;
  /** scope: the scope the decision was made under. */
  scope?: string;
  /** proposal: the Proposal's name, when the decision concerns one. */
  proposal?: string;
  detail?: string;
  /** secret: never stored; the line carries `secretHmac` (HMAC-SHA256 with the key in audit.key) so a secret can be matched later without being readable. */
  secret?: string;
}

/** AuditRecord is one line of audit.log as written: the entry, minus the secret, plus time, HMAC and chain. */
export interface AuditRecord extends Omit<AuditEntry, 'secret'> {
  time: string;
  secretHmac?: string;
  /** prev: `hash` of the line before (64 zeros for the first line). */
  prev: string;
  /** hash: sha256(prev + canonical JSON of this record without `hash`). */
  hash: string;
}
