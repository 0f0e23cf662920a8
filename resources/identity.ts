// Who is asking: the identity every decision is attributed to (proposals, approvals, audit lines)
// and the principal the auth layer hands to REST and MCP handlers. Tokens are verified by the
// AccessToken controller's index (controllers/token), which implements TokenVerifier.

import type { Scope } from './scopes.ts';

/** Identity names who acted. `agent` comes from the token (or the local user on stdio). */
export interface Identity {
  agent: string;
  /** tokenId: the id part of the bearer token (`smt_<id>_<secret>`); absent for the local stdio user. */
  tokenId?: string;
  /** tailscaleLogin/Name: from `tailscale serve` headers, only when they came from a trusted proxy. */
  tailscaleLogin?: string;
  tailscaleName?: string;
}

/** Principal is an authenticated caller: who, and what they may do (aliases already expanded). */
export interface Principal {
  identity: Identity;
  scopes: ReadonlySet<Scope>;
}

/** TokenFailure says why a bearer token was refused (for logs and audit; clients only see 401). */
export type TokenFailure = 'missing' | 'malformed' | 'unknown' | 'mismatch' | 'expired' | 'revoked';

/** TokenVerification is the outcome of checking a bearer token. */
export type TokenVerification = { ok: true; principal: Principal } | { ok: false; reason: TokenFailure };

/** TokenVerifier checks `smt_<id>_<secret>` bearer tokens. */
export interface TokenVerifier {
  verify(bearer: string | undefined): TokenVerification;
}

/** sameIdentity tells whether two identities are the same person for the two-person rule. */
export function sameIdentity(a: Identity, b: Identity): boolean {
  if (a.tailscaleLogin && b.tailscaleLogin) return a.tailscaleLogin === b.tailscaleLogin;
  if (a.tokenId && b.tokenId && a.tokenId === b.tokenId) return true;
  return a.agent === b.agent;
}

/** describeIdentity renders an identity for messages and commit authors. */
export function describeIdentity(i: Identity): string {
  return [i.agent, i.tokenId ? `token ${i.tokenId}` : undefined, i.tailscaleLogin ? `tailscale ${i.tailscaleLogin}` : undefined].filter(Boolean).join(', ');
}
