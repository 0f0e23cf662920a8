// The AccessToken reconciler: reports each token's state in its status (Ready, expired,
// lastUsedAt) and looks again exactly when the token expires. It decides nothing about
// authentication itself: the TokenIndex does, from the store, at the moment of each request.

import { parseResourceKey } from '../../resources/kinds.ts';
import type { ResourceStore } from '../../resources/store.ts';
import { beginStatus, getCondition, markNotReady, markReady, type EventRecorder, type Reconciler, type Result } from '../runtime/index.ts';
import type { TokenIndex } from './token-index.ts';
import type { AccessTokenSpec } from './tokens.ts';

/** TokenReason names the reasons of an AccessToken's Ready condition. */
export const TokenReason = {
  Active: 'Active',
  Expired: 'Expired',
  Revoked: 'Revoked',
  DuplicateId: 'DuplicateId',
  Invalid: 'Invalid',
} as const;

// setTimeout cannot wait longer than this; a token expiring later is looked at again on the way.
const MAX_REQUEUE_MS = 2 ** 31 - 1;

/** TokenReconcilerOptions configure a TokenReconciler. */
export interface TokenReconcilerOptions {
  store: ResourceStore;
  index: TokenIndex;
  recorder?: EventRecorder;
  now?: () => Date;
}

/** TokenReconciler writes the status of AccessToken resources. */
export class TokenReconciler implements Reconciler {
  private readonly store: ResourceStore;
  private readonly index: TokenIndex;
  private readonly recorder: EventRecorder | undefined;
  private readonly now: () => Date;

  constructor(opts: TokenReconcilerOptions) {
    this.store = opts.store;
    this.index = opts.index;
    this.recorder = opts.recorder;
    this.now = opts.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<Result> {
    const { name } = parseResourceKey(key);
    const patch = beginStatus(this.store, key, { now: this.now });
    if (!patch) return {};
    const spec = patch.object.spec as unknown as AccessTokenSpec;
    const st = patch.status;
    const now = this.now().getTime();
    const indexed = this.index.get(name);
    const expiresAtMs = indexed?.expiresAtMs;
    const expired = expiresAtMs !== undefined && now >= expiresAtMs;
    st.expired = expired;

    const used = this.index.takeLastUsed(name);
    const written = typeof st.lastUsedAt === 'string' ? Date.parse(st.lastUsedAt) : Number.NaN;
    if (used && !(written >= used.getTime())) st.lastUsedAt = used.toISOString();

    const before = getCondition(st, 'Ready')?.reason;
    const others = this.index.namesForId(spec.id).filter((n) => n !== name);
    let reason: string;
    if (indexed?.problem) {
      reason = TokenReason.Invalid;
      markNotReady(st, reason, `this token can never authenticate: ${indexed.problem}`, patch);
    } else if (others.length) {
      reason = TokenReason.DuplicateId;
      markNotReady(
        st,
        reason,
        `spec.id ${spec.id} is also claimed by ${others.map((n) => `AccessToken/${n}`).join(', ')}: every token with this id is refused until only one remains`,
        patch,
      );
    } else if (spec.revoked) {
      reason = TokenReason.Revoked;
      markNotReady(st, reason, 'spec.revoked is true: the token is refused', patch);
    } else if (expired) {
      reason = TokenReason.Expired;
      markNotReady(st, reason, `expired at ${spec.expiresAt}: the token is refused; mint a new one`, patch);
    } else {
      reason = TokenReason.Active;
      markReady(st, reason, spec.expiresAt ? `valid for agent ${spec.agent} until ${spec.expiresAt}` : `valid for agent ${spec.agent}; never expires`, patch);
    }
    patch.commit();
    if (reason !== before && reason !== TokenReason.Active) {
      this.recorder?.record(key, 'Warning', reason, getCondition(st, 'Ready')?.message ?? reason);
    }
    if (reason === TokenReason.Active && expiresAtMs !== undefined) return { requeueAfterMs: Math.min(Math.max(1, expiresAtMs - now), MAX_REQUEUE_MS) };
    return {};
  }
}
