// The bearer token format and the AccessToken resource a token is minted into. A token is
// `smt_<id>_<secret>`: the id is public (it is in the manifest, so logs and audit lines can name the
// token), the secret is 256 random bits shown once and stored only as its SHA-256 hash.

import { createHash, randomBytes } from 'node:crypto';
import { API_VERSION } from '../../resources/kinds.ts';
import { ALL_SCOPE_NAMES, isScopeName } from '../../resources/scopes.ts';
import type { DesiredResource } from '../../resources/types.ts';

/** TOKEN_PREFIX starts every token, so secret scanners (and people) can recognise one. */
export const TOKEN_PREFIX = 'smt_';
/** TOKEN_ID_PATTERN is the schema's pattern for `spec.id`. */
export const TOKEN_ID_PATTERN = /^[a-z0-9]{8,32}$/;
/** SECRET_PATTERN: 32 random bytes in unpadded base64url are exactly 43 characters. */
export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** TOKEN_ID_LENGTH is the length of ids mint makes: 16 base-36 characters are about 82 bits, so ids never collide by chance. */
export const TOKEN_ID_LENGTH = 16;
/** MAX_TTL_MS bounds `--ttl` so expiry stays a valid date far from overflow (100 years). */
export const MAX_TTL_MS = 100 * 365 * 24 * 3600_000;

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** ParsedToken is a bearer token split into its parts. */
export interface ParsedToken {
  id: string;
  secret: string;
}

/**
 * AccessTokenSpec is the spec of an AccessToken, as schemas/accesstoken.schema.json defines it. A type
 * alias rather than an interface, so a DesiredResource<AccessTokenSpec> is also a plain DesiredResource.
 */
export type AccessTokenSpec = {
  id: string;
  agent: string;
  scopes: string[];
  expiresAt?: string;
  tokenHash: string;
  revoked?: boolean;
};

/** generateTokenId makes a random id that matches TOKEN_ID_PATTERN. */
export function generateTokenId(length = TOKEN_ID_LENGTH): string {
  let id = '';
  while (id.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 252 is the largest multiple of 36 below 256: rejecting the rest keeps every character equally likely.
      if (byte < 252 && id.length < length) id += ID_ALPHABET[byte % 36];
    }
  }
  return id;
}

/** generateSecret makes a 256-bit random secret in base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** formatToken joins an id and a secret into the bearer token `smt_<id>_<secret>`. */
export function formatToken(id: string, secret: string): string {
  return `${TOKEN_PREFIX}${id}_${secret}`;
}

/**
 * parseToken splits `smt_<id>_<secret>`; undefined when it is not one. The id cannot hold `_` but
 * a base64url secret can, so only the first underscore after the id separates.
 */
export function parseToken(token: string): ParsedToken | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const sep = token.indexOf('_', TOKEN_PREFIX.length);
  if (sep < 0) return undefined;
  const id = token.slice(TOKEN_PREFIX.length, sep);
  const secret = token.slice(sep + 1);
  if (!TOKEN_ID_PATTERN.test(id) || !SECRET_PATTERN.test(secret)) return undefined;
  return { id, secret };
}

/** hashSecret is the SHA-256 of the secret as 64 lowercase hex digits: what `spec.tokenHash` holds. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** tokenResourceName derives a DNS-1123 label from the agent and the id: `<agent>-<id>`, the agent part cut to fit 63 characters. */
export function tokenResourceName(agent: string, id: string): string {
  const room = 63 - id.length - 1;
  const agentPart = agent
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, Math.max(0, room))
    .replace(/-+$/, '');
  return `${agentPart || 'token'}-${id}`;
}

/** parseTtl reads a lifetime such as `30d`, `12h`, `90m`, `45s` or `2w`; `never` is undefined (no expiry). */
export function parseTtl(text: string): number | undefined {
  if (text === 'never') return undefined;
  const m = /^([1-9][0-9]{0,6})(s|m|h|d|w)$/.exec(text);
  if (!m) throw new TypeError(`expected a lifetime such as 30d, 12h, 90m, 45s or 2w, or "never"; got ${JSON.stringify(text)}`);
  const unit: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000, w: 7 * 86_400_000 };
  const ms = Number(m[1]) * unit[m[2]!]!;
  if (ms > MAX_TTL_MS) throw new RangeError(`lifetime ${text} is longer than 100 years`);
  return ms;
}

/** parseScopeList reads `a,b` into unique scope names; unknown names throw, listing the known ones. */
export function parseScopeList(text: string): string[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new TypeError(`no scopes given (known: ${ALL_SCOPE_NAMES.join(', ')})`);
  const unknown = names.filter((n) => !isScopeName(n));
  if (unknown.length) throw new TypeError(`unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(u)).join(', ')} (known: ${ALL_SCOPE_NAMES.join(', ')})`);
  return names;
}

/** MintOptions describe the token to mint. */
export interface MintOptions {
  agent: string;
  scopes: readonly string[];
  /** ttlMs: lifetime from now; undefined never expires. */
  ttlMs?: number;
  /** name: the resource name; derived from agent and id when absent. */
  name?: string;
  now?: () => Date;
}

/** MintedToken is a new token: the secret bearer (shown once) and the resource that verifies it. */
export interface MintedToken {
  token: string;
  id: string;
  resource: DesiredResource<AccessTokenSpec>;
}

/** mintToken makes a new token and its AccessToken resource; the resource holds the hash, never the secret. */
export function mintToken(opts: MintOptions): MintedToken {
  const id = generateTokenId();
  const secret = generateSecret();
  const now = (opts.now ?? (() => new Date()))();
  const spec: AccessTokenSpec = { id, agent: opts.agent, scopes: [...opts.scopes], tokenHash: hashSecret(secret) };
  if (opts.ttlMs !== undefined) spec.expiresAt = new Date(now.getTime() + opts.ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    token: formatToken(id, secret),
    id,
    resource: { apiVersion: API_VERSION, kind: 'AccessToken', metadata: { name: opts.name ?? tokenResourceName(opts.agent, id) }, spec },
  };
}
