import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { main, type CliIO } from '../../../bin/cli.ts';
import { AuditLog } from '../../../controllers/audit/index.ts';
import { tempDir } from '../../support/manifests.ts';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t), color: false };
  const code = await main(['node', 'systemmanager', ...args], io);
  return { code, out, err };
}

async function stateWithFive(t: import('node:test').TestContext): Promise<{ state: string; path: string }> {
  const state = await tempDir(t);
  const audit = await AuditLog.open(state);
  for (let i = 1; i <= 5; i++) await audit.append({ identity: { agent: 'bob', tokenId: 'tok-bob' }, action: 'proposal.approved', outcome: 'allowed', proposal: `p-${i}`, target: 'update Container/web' });
  await audit.close();
  return { state, path: audit.path };
}

test('audit verify exits 0 on an intact chain and 1 naming the first tampered line', async (t) => {
  const { state, path } = await stateWithFive(t);
  const ok = await cli(['audit', 'verify', '--state', state]);
  assert.equal(ok.code, 0);
  assert.match(ok.out, /^ok: .*audit\.log: 5 lines, hash chain intact$/m);
  const lines = (await readFile(path, 'utf8')).split('\n');
  lines[2] = lines[2]!.replace('"p-3"', '"p-33"');
  await writeFile(path, lines.join('\n'));
  const broken = await cli(['audit', 'verify', '--state', state]);
  assert.equal(broken.code, 1);
  assert.match(broken.out, /line 3: hash mismatch/);
});

test('audit verify of a state directory without a log fails', async (t) => {
  const r = await cli(['audit', 'verify', '--state', await tempDir(t)]);
  assert.equal(r.code, 1);
  assert.match(r.out, /line 0: cannot read/);
});

test('audit tail shows the last n lines, as text or JSON', async (t) => {
  const { state } = await stateWithFive(t);
  const text = await cli(['audit', 'tail', '--state', state, '-n', '2']);
  assert.equal(text.code, 0);
  const shown = text.out.trim().split('\n');
  assert.equal(shown.length, 2);
  assert.match(shown[0]!, /allowed\s+proposal\.approved by=bob token=tok-bob proposal=p-4 target="update Container\/web"/);
  assert.match(shown[1]!, /proposal=p-5/);
  const json = await cli(['audit', 'tail', '--state', state, '-n', '3', '-o', 'json']);
  assert.deepEqual(json.out.trim().split('\n').map((l) => (JSON.parse(l) as { proposal: string }).proposal), ['p-3', 'p-4', 'p-5']);
  assert.equal((await cli(['audit', 'tail', '--state', state, '-n', '0'])).code, 2, 'n must be positive');
});
