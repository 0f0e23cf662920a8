// The token controller: AccessToken resources become the bearer tokens the MCP and REST layers
// accept. tokens.ts is the token format and minting, token-index.ts the in-memory index that
// verifies requests (following the store synchronously, so revocation is immediate), and
// reconciler.ts the status writer. This folder imports resources/ and controllers/runtime/ only.

import { resourceKey } from '../../resources/kinds.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Controller, ControllerManager } from '../runtime/index.ts';
import { TokenReconciler } from './reconciler.ts';
import { TokenIndex } from './token-index.ts';

export { TokenReason, TokenReconciler } from './reconciler.ts';
export type { TokenReconcilerOptions } from './reconciler.ts';
export { DEFAULT_LAST_USED_INTERVAL_MS, TokenIndex } from './token-index.ts';
export type { IndexedToken, TokenIndexHooks, TokenIndexOptions } from './token-index.ts';
export {
  formatToken,
  generateSecret,
  generateTokenId,
  hashSecret,
  MAX_TTL_MS,
  mintToken,
  parseScopeList,
  parseToken,
  parseTtl,
  SECRET_PATTERN,
  TOKEN_ID_LENGTH,
  TOKEN_ID_PATTERN,
  TOKEN_PREFIX,
  tokenResourceName,
} from './tokens.ts';
export type { AccessTokenSpec, MintedToken, MintOptions, ParsedToken } from './tokens.ts';

/** TokenControllerOptions configure createTokenController. */
export interface TokenControllerOptions {
  store: ResourceStore;
  logger?: Logger;
  now?: () => Date;
  /** lastUsedIntervalMs: the least time between two writes of one token's status.lastUsedAt (default 60 s). */
  lastUsedIntervalMs?: number;
}

/** TokenController is the registered controller and the index the auth layer verifies tokens with. */
export interface TokenController {
  index: TokenIndex;
  controller: Controller;
  reconciler: TokenReconciler;
  /** close stops the index following the store. */
  close(): void;
}

/** createTokenController registers the token controller with `manager` and returns the token index. */
export function createTokenController(manager: ControllerManager, opts: TokenControllerOptions): TokenController {
  const log = (opts.logger ?? silentLogger).child({ controller: 'token' });
  const index = new TokenIndex(opts.store, { now: opts.now, lastUsedIntervalMs: opts.lastUsedIntervalMs });
  const reconciler = new TokenReconciler({ store: opts.store, index, recorder: manager.recorder, now: opts.now });
  // Status is all a reconcile writes, so no resync is needed: expiry is requeued exactly.
  const controller = manager.add({ name: 'token', kind: 'AccessToken', concurrency: 1, timeoutMs: 10_000, resyncMs: 0 }, reconciler);
  index.setHooks({
    idsChanged(names) {
      log.debug('token ids changed; re-checking duplicates', { names });
      for (const n of names) controller.enqueue(resourceKey('AccessToken', n));
    },
    used(name, delayMs) {
      controller.enqueueAfter(resourceKey('AccessToken', name), delayMs);
    },
  });
  return { index, controller, reconciler, close: () => index.close() };
}
