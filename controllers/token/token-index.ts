// The in-memory token index the auth layer verifies bearer tokens against. It follows the store's
// watch events synchronously, so a token that is revoked or deleted stops working the moment the
// store changes, not when a reconcile gets round to it. Reconciles only report (status) and record
// when tokens were last used.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenFailure, TokenVerification, TokenVerifier, Principal } from '../../resources/identity.ts';
import { expandScopes } from '../../resources/scopes.ts';
import type { ResourceStore, WatchEvent } from '../../resources/store.ts';
import type { Resource } from '../../resources/types.ts';
import { parseToken, type AccessTokenSpec } from './tokens.ts';

/** DEFAULT_LAST_USED_INTERVAL_MS is how often, at most, a token's status.lastUsedAt is written. */
export const DEFAULT_LAST_USED_INTERVAL_MS = 60_000;

/** IndexedToken is what the index knows about one AccessToken resource. */
export interface IndexedToken {
  readonly name: string;
  readonly id: string;
  readonly agent: string;
  readonly revoked: boolean;
  /** expiresAtMs: undefined never expires. */
  readonly expiresAtMs: number | undefined;
  /** problem: why this resource can never authenticate (a bad hash, unknown scopes, a bad date); undefined when usable. */
  readonly problem: string | undefined;
}

interface Entry extends IndexedToken {
  readonly hash: Buffer | undefined;
  readonly principal: Principal | undefined;
}

/** TokenIndexHooks let the controller follow the index: which keys to reconcile again, and when. */
export interface TokenIndexHooks {
  /** idsChanged: these tokens share (or stopped sharing) an id with a token that changed; their DuplicateId condition may have moved. */
  idsChanged?(names: string[]): void;
  /** used: a token authenticated and its lastUsedAt should be written in `delayMs`. Called at most once until the write is taken. */
  used?(name: string, delayMs: number): void;
}

/** TokenIndexOptions configure a TokenIndex. */
export interface TokenIndexOptions {
  now?: () => Date;
  /** lastUsedIntervalMs: the least time between two writes of one token's status.lastUsedAt. */
  lastUsedIntervalMs?: number;
}

// Hashing and comparing even for an unknown id keeps that answer from being much faster than a wrong secret.
const NO_HASH = Buffer.alloc(32);

/**
 * TokenIndex verifies `smt_<id>_<secret>` bearer tokens against the AccessToken resources in a store.
 * Two resources with the same id are both refused; the index never guesses which one was meant.
 */
export class TokenIndex implements TokenVerifier {
  private readonly byName = new Map<string, Entry>();
  private readonly byId = new Map<string, Set<string>>();
  private readonly usedAt = new Map<string, number>();
  private readonly writtenAt = new Map<string, number>();
  private readonly scheduled = new Set<string>();
  private readonly now: () => Date;
  private readonly intervalMs: number;
  private hooks: TokenIndexHooks = {};
  private readonly unwatch: () => void;

  constructor(store: ResourceStore, opts: TokenIndexOptions = {}) {
    this.now = opts.now ?? (() => new Date());
    this.intervalMs = opts.lastUsedIntervalMs ?? DEFAULT_LAST_USED_INTERVAL_MS;
    for (const o of store.list('AccessToken')) this.put(o);
    this.unwatch = store.watch((event) => this.onEvent(event));
  }

  /** setHooks connects the index to its controller. */
  setHooks(hooks: TokenIndexHooks): void {
    this.hooks = hooks;
  }

  /** close stops following the store; verify keeps answering from the last state. */
  close(): void {
    this.unwatch();
  }

  /** size is the number of indexed AccessToken resources. */
  get size(): number {
    return this.byName.size;
  }

  /**
   * verify checks a bearer token: its format, a single resource with its id, the secret's hash
   * (constant-time), then revocation and expiry against the clock at this moment. Reasons for a
   * refusal are for logs and audit; a client should only ever see 401.
   */
  verify(bearer: string | undefined): TokenVerification {
    if (bearer === undefined || bearer === '') return refuse('missing');
    const parsed = parseToken(bearer);
    if (!parsed) return refuse('malformed');
    const digest = createHash('sha256').update(parsed.secret, 'utf8').digest();
    const entry = this.unique(parsed.id);
    if (!entry?.hash || !entry.principal) {
      timingSafeEqual(digest, NO_HASH);
      return refuse('unknown');
    }
    if (!timingSafeEqual(digest, entry.hash)) return refuse('mismatch');
    if (entry.revoked) return refuse('revoked');
    const now = this.now().getTime();
    if (entry.expiresAtMs !== undefined && now >= entry.expiresAtMs) return refuse('expired');
    this.recordUse(entry.name, now);
    return { ok: true, principal: entry.principal };
  }

  /** get returns what the index holds for the AccessToken named `name`. */
  get(name: string): IndexedToken | undefined {
    const e = this.byName.get(name);
    return e && { name: e.name, id: e.id, agent: e.agent, revoked: e.revoked, expiresAtMs: e.expiresAtMs, problem: e.problem };
  }

  /** namesForId lists the AccessTokens that claim `id`, sorted; more than one means all of them are refused. */
  namesForId(id: string): string[] {
    return [...(this.byId.get(id) ?? [])].sort();
  }

  /** agents lists the distinct agents of the indexed tokens, sorted. */
  agents(): string[] {
    return [...new Set([...this.byName.values()].map((e) => e.agent))].sort();
  }

  /** lastUsed is when the token last authenticated, as far as this process has seen. */
  lastUsed(name: string): Date | undefined {
    const t = this.usedAt.get(name);
    return t === undefined ? undefined : new Date(t);
  }

  /** takeLastUsed is lastUsed for the writer of status.lastUsedAt; it marks the write as done now, opening the next interval. */
  takeLastUsed(name: string): Date | undefined {
    this.scheduled.delete(name);
    const used = this.usedAt.get(name);
    if (used !== undefined) this.writtenAt.set(name, this.now().getTime());
    return used === undefined ? undefined : new Date(used);
  }

  private recordUse(name: string, now: number): void {
    this.usedAt.set(name, now);
    if (this.scheduled.has(name)) return;
    this.scheduled.add(name);
    const last = this.writtenAt.get(name);
    this.hooks.used?.(name, last === undefined ? 0 : Math.max(0, last + this.intervalMs - now));
  }

  private unique(id: string): Entry | undefined {
    const names = this.byId.get(id);
    if (!names || names.size !== 1) return undefined;
    return this.byName.get(names.values().next().value!);
  }

  private onEvent(event: WatchEvent): void {
    if (event.kind !== 'AccessToken' || event.statusChanged) return;
    if (event.type === 'DELETED') {
      this.remove(event.name);
      this.usedAt.delete(event.name);
      this.writtenAt.delete(event.name);
      this.scheduled.delete(event.name);
    } else {
      this.put(event.object);
    }
  }

  private put(object: Resource): void {
    const name = object.metadata.name;
    const before = this.byName.get(name);
    const entry = toEntry(object);
    this.byName.set(name, entry);
    if (before?.id !== entry.id) {
      if (before) this.unlink(before.id, name);
      const names = this.byId.get(entry.id) ?? new Set<string>();
      names.add(name);
      this.byId.set(entry.id, names);
      this.notifyIds(before?.id, entry.id, name);
    }
  }

  private remove(name: string): void {
    const before = this.byName.get(name);
    if (!before) return;
    this.byName.delete(name);
    this.unlink(before.id, name);
    this.notifyIds(before.id, undefined, name);
  }

  private unlink(id: string, name: string): void {
    const names = this.byId.get(id);
    names?.delete(name);
    if (names?.size === 0) this.byId.delete(id);
  }

  private notifyIds(oldId: string | undefined, newId: string | undefined, changed: string): void {
    const affected = new Set<string>();
    for (const id of [oldId, newId]) if (id !== undefined) for (const n of this.byId.get(id) ?? []) affected.add(n);
    affected.delete(changed);
    if (affected.size) this.hooks.idsChanged?.([...affected].sort());
  }
}

function refuse(reason: TokenFailure): TokenVerification {
  return { ok: false, reason };
}

/** toEntry reads a resource defensively: the store may hold objects that did not come through schema validation. */
function toEntry(object: Resource): Entry {
  const spec = (object.spec ?? {}) as Partial<AccessTokenSpec>;
  const name = object.metadata.name;
  const id = typeof spec.id === 'string' ? spec.id : '';
  const agent = typeof spec.agent === 'string' ? spec.agent : '';
  const revoked = spec.revoked === true;
  const problems: string[] = [];
  let hash: Buffer | undefined;
  if (typeof spec.tokenHash === 'string' && /^[a-f0-9]{64}$/.test(spec.tokenHash)) hash = Buffer.from(spec.tokenHash, 'hex');
  else problems.push('spec.tokenHash is not 64 lowercase hex digits');
  if (!/^[a-z0-9]{8,32}$/.test(id)) problems.push('spec.id is not 8 to 32 lowercase letters or digits');
  if (!agent) problems.push('spec.agent is missing');
  let expiresAtMs: number | undefined;
  if (spec.expiresAt !== undefined) {
    expiresAtMs = typeof spec.expiresAt === 'string' ? Date.parse(spec.expiresAt) : Number.NaN;
    if (Number.isNaN(expiresAtMs)) problems.push('spec.expiresAt is not a date-time');
  }
  let principal: Principal | undefined;
  try {
    if (!Array.isArray(spec.scopes) || spec.scopes.length === 0) throw new TypeError('spec.scopes is empty');
    principal = Object.freeze({ identity: Object.freeze({ agent, tokenId: id }), scopes: expandScopes(spec.scopes) });
  } catch (err) {
    problems.push((err as Error).message);
  }
  const problem = problems.length ? problems.join('; ') : undefined;
  return { name, id, agent, revoked, expiresAtMs, problem, hash: problem ? undefined : hash, principal: problem ? undefined : principal };
}
