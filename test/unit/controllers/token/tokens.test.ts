import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { kindSchema, validateResource } from '../../../../resources/validation.ts';
import { ALL_SCOPE_NAMES } from '../../../../resources/scopes.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import {
  formatToken,
  generateTokenId,
  hashSecret,
  mintToken,
  parseScopeList,
  parseToken,
  parseTtl,
  TOKEN_ID_PATTERN,
  tokenResourceName,
} from '../../../../controllers/token/index.ts';

const SECRET = 'A'.repeat(43);

test('a minted token parses back, and its resource holds the hash, never the secret', () => {
  const minted = mintToken({ agent: 'claude', scopes: ['readonly'], ttlMs: 30 * 86_400_000, now: () => new Date('2025-01-01T00:00:00Z') });
  const m = /^smt_([a-z0-9]+)_([A-Za-z0-9_-]{43})$/.exec(minted.token);
  assert.ok(m, minted.token);
  const parsed = parseToken(minted.token)!;
  assert.equal(parsed.id, minted.id);
  assert.equal(minted.resource.spec.tokenHash, createHash('sha256').update(parsed.secret).digest('hex'));
  assert.equal(minted.resource.spec.expiresAt, '2025-01-31T00:00:00Z');
  assert.equal(minted.resource.metadata.name, `claude-${minted.id}`);
  assert.ok(!JSON.stringify(minted.resource).includes(parsed.secret), 'the secret must not appear in the resource');
  assert.equal(validateResource(minted.resource).ok, true);
  assert.notEqual(mintToken({ agent: 'claude', scopes: ['readonly'] }).token, minted.token);
  assert.equal(mintToken({ agent: 'x', scopes: ['admin'] }).resource.spec.expiresAt, undefined, 'no ttl: never expires');
});

test('ids are random, fit the schema pattern and the secret is 256 bits', () => {
  const ids = new Set(Array.from({ length: 500 }, () => generateTokenId()));
  assert.equal(ids.size, 500);
  for (const id of ids) assert.match(id, TOKEN_ID_PATTERN);
  const { secret } = parseToken(mintToken({ agent: 'a', scopes: ['admin'] }).token)!;
  assert.equal(Buffer.from(secret, 'base64url').length, 32);
});

test('parseToken splits at the first underscore after the id, so secrets may contain underscores', () => {
  for (const secret of [`_${'b'.repeat(42)}`, `${'c'.repeat(42)}_`, `ab_cd-${'_'.repeat(37)}`]) {
    assert.deepEqual(parseToken(formatToken('abcdefgh12', secret)), { id: 'abcdefgh12', secret });
  }
});

test('parseToken refuses malformed, truncated and padded tokens', () => {
  const good = formatToken('abcdefgh', SECRET);
  assert.ok(parseToken(good));
  for (const bad of [
    '',
    'smt_',
    'smt__',
    SECRET,
    `Bearer ${good}`,
    `smx_abcdefgh_${SECRET}`,
    `SMT_abcdefgh_${SECRET}`,
    good.slice(0, -1), // truncated
    `${good}A`, // one character too many
    `${good}=`, // base64 padding
    `smt_abcdefg_${SECRET}`, // id too short
    `smt_ABCDEFGH_${SECRET}`, // id not lowercase
    `smt_${'a'.repeat(33)}_${SECRET}`, // id too long
    `smt_abcdefgh_${SECRET.slice(0, 42)}+`, // not base64url
    `smt_abcdefgh_${SECRET.slice(0, 42)}\u0000`,
    `smt_abcdefgh_${'é'.repeat(43)}`,
    ` ${good}`,
    `${good}\n`,
  ]) {
    assert.equal(parseToken(bad), undefined, JSON.stringify(bad));
  }
});

test('hashSecret is SHA-256 as 64 lowercase hex digits', () => {
  assert.equal(hashSecret('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('tokenResourceName makes a DNS-1123 label from any agent name', () => {
  const id = 'abcdefghijklmnop';
  const cases: Array<[string, string]> = [
    ['claude', `claude-${id}`],
    ['Claude.Code@example.com', `claude-code-example-com-${id}`],
    ['__x__', `x-${id}`],
    ['@@@', `token-${id}`],
    ['a'.repeat(128), `${'a'.repeat(46)}-${id}`],
  ];
  for (const [agent, name] of cases) {
    assert.equal(tokenResourceName(agent, id), name);
    assert.ok(name.length <= 63);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  }
  // The cut must not leave a dash before the id's dash.
  assert.doesNotMatch(tokenResourceName(`${'a'.repeat(45)}-b`, 'x'.repeat(16)), /--/);
});

test('parseTtl reads lifetimes and refuses nonsense', () => {
  assert.equal(parseTtl('30d'), 30 * 86_400_000);
  assert.equal(parseTtl('45s'), 45_000);
  assert.equal(parseTtl('2w'), 14 * 86_400_000);
  assert.equal(parseTtl('never'), undefined);
  for (const bad of ['', '0d', '-1d', '1.5h', '30', 'd', '1y', '30 d', '99999999d']) assert.throws(() => parseTtl(bad), Error, bad);
});

test('parseScopeList accepts scopes and aliases, dedupes, and names unknown scopes', () => {
  assert.deepEqual(parseScopeList('readonly, container:write,readonly'), ['readonly', 'container:write']);
  assert.throws(() => parseScopeList('container:read,root'), /unknown scope "root" \(known: .*admin/);
  assert.throws(() => parseScopeList(' , '), /no scopes/);
});

test("the AccessToken schema's scope enum is exactly ALL_SCOPE_NAMES", () => {
  const spec = kindSchema('AccessToken', '/$defs/spec') as { properties: { scopes: { items: { enum: string[] } } } };
  assert.deepEqual([...spec.properties.scopes.items.enum].sort(), [...ALL_SCOPE_NAMES].sort());
});

test('the schema refuses unknown scopes and hashes that are not 64 hex digits, and accepts a past expiry', () => {
  const doc = (spec: Record<string, unknown>) => ({
    apiVersion: API_VERSION,
    kind: 'AccessToken',
    metadata: { name: 't' },
    spec: { id: 'abcdefgh', agent: 'a', scopes: ['readonly'], tokenHash: 'a'.repeat(64), ...spec },
  });
  assert.equal(validateResource(doc({})).ok, true);
  const unknown = validateResource(doc({ scopes: ['readonly', 'root'] }));
  assert.equal(unknown.ok, false);
  assert.match(JSON.stringify(!unknown.ok && unknown.issues), /\/spec\/scopes\/1/);
  for (const tokenHash of ['a'.repeat(63), 'a'.repeat(65), 'A'.repeat(64), 'g'.repeat(64), SECRET]) {
    const r = validateResource(doc({ tokenHash }));
    assert.equal(r.ok, false, tokenHash);
    assert.match(JSON.stringify(!r.ok && r.issues), /\/spec\/tokenHash/);
  }
  assert.equal(validateResource(doc({ expiresAt: '2000-01-01T00:00:00Z' })).ok, true, 'an expired token is a valid resource; the controller reports it');
});
