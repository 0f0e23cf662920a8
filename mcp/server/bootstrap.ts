// The first-start admin token. A fresh install has no AccessToken, so nobody could call anything;
// on a loopback listener the server mints one admin token, writes the bearer secret to
// <state>/bootstrap-token (mode 0600; only someone who can read the state directory can use it) and
// keeps the AccessToken resource (hash only) in <state>/bootstrap-accesstoken.json, loaded on every
// start so it survives restarts. On a non-loopback listener nothing is minted: a token reachable
// from the network must be created deliberately (`systemmanager token mint`).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { Logger } from '../../resources/log.ts';
import { writeFileAtomic } from '../../resources/persistence.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { DesiredResource } from '../../resources/types.ts';
import { validateResource } from '../../resources/validation.ts';
import { mintToken } from '../../controllers/token/index.ts';

/** BOOTSTRAP_TOKEN_FILE holds the bearer token, in the state directory. */
export const BOOTSTRAP_TOKEN_FILE = 'bootstrap-token';
/** BOOTSTRAP_RESOURCE_FILE holds the bootstrap AccessToken resource (hash only), in the state directory. */
export const BOOTSTRAP_RESOURCE_FILE = 'bootstrap-accesstoken.json';
/** BOOTSTRAP_AGENT is the agent name of the bootstrap token. */
export const BOOTSTRAP_AGENT = 'bootstrap-admin';

/** BootstrapResult says what ensureBootstrapToken did. */
export type BootstrapResult =
  | { action: 'created'; tokenFile: string; token: string }
  | { action: 'loaded' }
  | { action: 'none'; reason: string };

/** isLoopbackHost tells whether a listen host is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/**
 * ensureBootstrapToken loads a previously minted bootstrap token into the store, or mints one when
 * the store holds no AccessToken at all and the listener is loopback. Call it after the manifests
 * have loaded, so tokens declared in git count.
 */
export async function ensureBootstrapToken(opts: { store: ResourceStore; stateDir: string; listenHost: string; logger: Logger }): Promise<BootstrapResult> {
  const resourcePath = join(opts.stateDir, BOOTSTRAP_RESOURCE_FILE);
  const tokenFile = join(opts.stateDir, BOOTSTRAP_TOKEN_FILE);
  let saved: string | undefined;
  try {
    saved = await readFile(resourcePath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (saved !== undefined) {
    const v = validateResource(JSON.parse(saved));
    if (!v.ok || v.kind !== 'AccessToken') throw new Error(`${resourcePath} is not a valid AccessToken; remove it to mint a new bootstrap token`);
    // A manifest of the same name wins: git may have revoked or replaced it.
    if (!opts.store.get('AccessToken', v.name)) opts.store.upsert(v.resource);
    return { action: 'loaded' };
  }
  if (opts.store.list('AccessToken').length > 0) return { action: 'none', reason: 'AccessTokens exist' };
  if (!isLoopbackHost(opts.listenHost)) {
    opts.logger.warn('no AccessToken exists and the listener is not loopback: no bootstrap token was minted; create one with `systemmanager token mint`', { listen: opts.listenHost });
    return { action: 'none', reason: 'non-loopback listener' };
  }
  const minted = mintToken({ agent: BOOTSTRAP_AGENT, scopes: ['admin'], name: BOOTSTRAP_AGENT });
  await writeFileAtomic(tokenFile, `${minted.token}\n`, { mode: 0o600 });
  await writeFileAtomic(resourcePath, `${JSON.stringify(minted.resource as DesiredResource, null, 2)}\n`, { mode: 0o600 });
  opts.store.upsert(minted.resource as DesiredResource);
  opts.logger.warn('no AccessToken existed: minted a bootstrap admin token; its bearer secret is in the token file (mode 0600). Mint scoped tokens for agents and revoke this one.', { tokenFile });
  return { action: 'created', tokenFile, token: minted.token };
}
