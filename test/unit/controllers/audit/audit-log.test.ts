import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditLog, verifyAuditLog, type AuditRecord } from '../../../../controllers/audit/index.ts';
import { tempDir } from '../../../support/manifests.ts';

const alice = { agent: 'alice', tokenId: 'tok1', tailscaleLogin: 'alice@example.com' };

async function lines(path: string): Promise<AuditRecord[]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as AuditRecord);
}

async function fiveLines(t: import('node:test').TestContext): Promise<{ dir: string; path: string }> {
  const dir = await tempDir(t);
  const audit = await AuditLog.open(dir);
  for (let i = 1; i <= 5; i++) await audit.append({ identity: alice, action: 'proposal.created', outcome: 'allowed', proposal: `p-${i}`, target: `Container/web-${i}` });
  await audit.close();
  return { dir, path: audit.path };
}

test('appends form a hash chain that verifies, and a reopened log continues it', async (t) => {
  const { dir, path } = await fiveLines(t);
  const records = await lines(path);
  assert.equal(records.length, 5);
  assert.equal(records[0]!.prev, '0'.repeat(64));
  for (let i = 1; i < 5; i++) assert.equal(records[i]!.prev, records[i - 1]!.hash);
  assert.deepEqual(records[2]!.identity, alice);
  assert.equal(records[2]!.target, 'Container/web-3');
  assert.ok(!Number.isNaN(Date.parse(records[0]!.time)));

  const again = await AuditLog.open(dir);
  await again.append({ action: 'access.denied', outcome: 'denied', scope: 'proposals:approve' });
  await again.close();
  assert.deepEqual(await verifyAuditLog(path), { ok: true, lines: 6 });
  assert.equal((await lines(path))[5]!.prev, records[4]!.hash);
});

test('a tampered field is reported at its line: "line 3: hash mismatch"', async (t) => {
  const { path } = await fiveLines(t);
  const text = (await readFile(path, 'utf8')).split('\n');
  const third = JSON.parse(text[2]!) as AuditRecord;
  third.outcome = 'denied';
  text[2] = JSON.stringify(third);
  await writeFile(path, text.join('\n'));
  assert.deepEqual(await verifyAuditLog(path), { ok: false, line: 3, reason: 'hash mismatch' });
});

test('a removed line breaks the chain at the line after the gap', async (t) => {
  const { path } = await fiveLines(t);
  const text = (await readFile(path, 'utf8')).split('\n');
  text.splice(1, 1);
  await writeFile(path, text.join('\n'));
  const result = await verifyAuditLog(path);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.line, 2);
  assert.match(!result.ok ? result.reason : '', /prev does not match/);
});

test('a line that is not JSON, and a missing file, are reported', async (t) => {
  const { path } = await fiveLines(t);
  await appendFile(path, 'garbage\n');
  assert.deepEqual(await verifyAuditLog(path), { ok: false, line: 6, reason: 'not valid JSON' });
  const missing = await verifyAuditLog(join(path, '..', 'nope.log'));
  assert.equal(missing.ok, false);
  assert.equal(!missing.ok && missing.line, 0);
});

test('secrets are stored only as HMACs under a 0600 key created once', async (t) => {
  const dir = await tempDir(t);
  const audit = await AuditLog.open(dir);
  await audit.append({ identity: alice, action: 'token.used', outcome: 'allowed', secret: 'smt_tok1_supersecretvalue' });
  await audit.close();
  const raw = await readFile(audit.path, 'utf8');
  assert.ok(!raw.includes('supersecretvalue'), 'the secret must not appear in the log');
  const key = (await readFile(join(dir, 'audit.key'), 'utf8')).trim();
  assert.equal((await stat(join(dir, 'audit.key'))).mode & 0o777, 0o600);
  const expected = createHmac('sha256', Buffer.from(key, 'hex')).update('smt_tok1_supersecretvalue').digest('hex');
  assert.equal((await lines(audit.path))[0]!.secretHmac, expected);
  const reopened = await AuditLog.open(dir);
  assert.equal(reopened.hmac('smt_tok1_supersecretvalue'), expected, 'the key is created once and reused');
  await reopened.close();
});

test('concurrent appends are serialized into one valid chain', async (t) => {
  const dir = await tempDir(t);
  const audit = await AuditLog.open(dir);
  await Promise.all(Array.from({ length: 50 }, (_, i) => audit.append({ action: 'proposal.created', outcome: 'allowed', proposal: `p-${i}` })));
  await audit.close();
  assert.deepEqual(await verifyAuditLog(audit.path), { ok: true, lines: 50 });
});

test('tail returns the last n records in order', async (t) => {
  const { dir } = await fiveLines(t);
  const audit = await AuditLog.open(dir);
  t.after(() => audit.close());
  assert.deepEqual((await audit.tail(2)).map((r) => r.proposal), ['p-4', 'p-5']);
  assert.equal((await audit.tail(100)).length, 5);
  assert.deepEqual(await audit.tail(0), []);
});

test('fails closed when the log is replaced by a directory, and recovers when it is back', async (t) => {
  const { dir, path } = await fiveLines(t);
  const audit = await AuditLog.open(dir);
  t.after(() => audit.close());
  await rm(path);
  await mkdir(path);
  await assert.rejects(audit.append({ action: 'proposal.approved', outcome: 'allowed' }), { code: 'AUDIT_UNAVAILABLE' });
  await assert.rejects(audit.append({ action: 'proposal.approved', outcome: 'allowed' }), { code: 'AUDIT_UNAVAILABLE' });
  await rm(path, { recursive: true });
  await audit.append({ action: 'proposal.approved', outcome: 'allowed' });
  assert.deepEqual(await verifyAuditLog(path), { ok: true, lines: 1 });
});

test('a symlink planted in place of the log is refused', async (t) => {
  const dir = await tempDir(t);
  await symlink('/dev/null', join(dir, 'audit.log'));
  await assert.rejects(AuditLog.open(dir), { code: 'AUDIT_UNAVAILABLE', message: /symlink/ });
});

test('an interrupted last append is cut on open and the chain continues', async (t) => {
  const { dir, path } = await fiveLines(t);
  await appendFile(path, '{"time":"2026-01-01T00:00:00Z","action":"half');
  assert.equal((await verifyAuditLog(path)).ok, false);
  const audit = await AuditLog.open(dir);
  await audit.append({ action: 'proposal.rejected', outcome: 'allowed' });
  await audit.close();
  assert.deepEqual(await verifyAuditLog(path), { ok: true, lines: 6 });
});

test('a damaged last line makes open fail closed', async (t) => {
  const { dir, path } = await fiveLines(t);
  const text = (await readFile(path, 'utf8')).split('\n');
  text[4] = text[4]!.replace('p-5', 'p-9');
  await writeFile(path, text.join('\n'));
  await assert.rejects(AuditLog.open(dir), { code: 'AUDIT_UNAVAILABLE', message: /damaged/ });
});
