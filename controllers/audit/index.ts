// The audit log: one hash-chained JSON line per decision (proposal created, approved, rejected,
// applied, failed; tokens used for writes; access denied) in <state>/audit.log, and the chain
// check behind `systemmanager audit verify`. It lives under controllers/ because both the proposal
// service and the MCP/REST layers write it and controllers may not import mcp/. Imports resources/
// and node builtins only.
//
// Actions written by the proposal service: proposal.created, proposal.approved, proposal.rejected
// (allowed before the change, denied when refused), proposal.applied (succeeded), proposal.failed,
// proposal.stale, proposal.expired.

export { AUDIT_FILE, AUDIT_KEY_FILE, AuditLog, AuditUnavailableError, readTailLines } from './audit-log.ts';
export type { AuditLogOptions } from './audit-log.ts';
export { GENESIS, checkLine, hashRecord, verifyAuditLog } from './chain.ts';
export type { AuditVerification } from './chain.ts';
export type { AuditEntry, AuditOutcome, AuditRecord } from './types.ts';
