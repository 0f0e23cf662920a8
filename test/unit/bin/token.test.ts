import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { main, type CliIO } from '../../../bin/cli.ts';
import { ResourceStore } from '../../../resources/store.ts';
import { ManifestSource } from '../../../resources/source.ts';
import { validatePaths } from '../../../resources/manifests.ts';
import { hashSecret, parseToken, TokenIndex } from '../../../controllers/token/index.ts';
import { tempDir } from '../../support/manifests.ts';
import { waitFor } from '../../support/wait.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t), color: false };
  const code = await main(['node', 'systemmanager', ...args], io);
  return { code, out, err };
}

async function mint(dir: string, agent: string, extra: string[] = []): Promise<{ token: string; file: string }> {
  const r = await run(['token', 'mint', '--agent', agent, '--scopes', 'readonly', '--write', dir, ...extra]);
  assert.equal(r.code, 0, r.err);
  const file = /written to (.+)\n/.exec(r.err)![1]!;
  return { token: r.out.trimEnd(), file };
}

test('mint --write prints only the token on stdout and writes a valid manifest holding its hash', async (t) => {
  const dir = await tempDir(t);
  const r = await run(['token', 'mint', '--agent', 'Claude.Code', '--scopes', 'readonly,container:write', '--ttl', '7d', '--write', dir]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^smt_[a-z0-9]{16}_[A-Za-z0-9_-]{43}\n$/, 'stdout is the token alone');
  const parsed = parseToken(r.out.trimEnd())!;
  const files = await readdir(dir);
  assert.deepEqual(files, [`accesstoken-claude-code-${parsed.id}.yaml`]);
  const text = await readFile(join(dir, files[0]!), 'utf8');
  assert.ok(!text.includes(parsed.secret), 'the secret is never written');
  const doc = parse(text) as { metadata: { name: string }; spec: { id: string; agent: string; scopes: string[]; tokenHash: string; expiresAt: string } };
  assert.equal(doc.metadata.name, `claude-code-${parsed.id}`);
  assert.deepEqual(doc.spec.scopes, ['readonly', 'container:write']);
  assert.equal(doc.spec.agent, 'Claude.Code');
  assert.equal(doc.spec.tokenHash, hashSecret(parsed.secret));
  assert.ok(Date.parse(doc.spec.expiresAt) > Date.now() + 6 * 86_400_000);
  assert.match(r.err, /shown only this once/);
  assert.deepEqual((await validatePaths([dir])).errors, []);
});

test('mint without --write prints the token, then the manifest, on stdout', async () => {
  const r = await run(['token', 'mint', '--agent', 'ci', '--scopes', 'admin', '--ttl', 'never']);
  assert.equal(r.code, 0, r.err);
  const [first, ...rest] = r.out.split('\n');
  const { secret } = parseToken(first!)!;
  const doc = parse(rest.join('\n')) as { kind: string; spec: { tokenHash: string; expiresAt?: string } };
  assert.equal(doc.kind, 'AccessToken');
  assert.equal(doc.spec.tokenHash, hashSecret(secret));
  assert.equal(doc.spec.expiresAt, undefined);
});

test('mint refuses bad input with exit 2 and prints no token', async (t) => {
  const dir = await tempDir(t);
  const cases: Array<[string[], RegExp]> = [
    [['--agent', 'a', '--scopes', 'readonly,root'], /unknown scope "root"/],
    [['--agent', 'a', '--scopes', ''], /no scopes/],
    [['--agent', 'a', '--scopes', 'readonly', '--ttl', '0d'], /expected a lifetime/],
    [['--agent', 'a', '--scopes', 'readonly', '--ttl', '1y'], /expected a lifetime/],
    [['--agent', '-bad', '--scopes', 'readonly'], /\/spec\/agent/],
    [['--agent', 'has space', '--scopes', 'readonly'], /\/spec\/agent/],
    [['--agent', 'a', '--scopes', 'readonly', '--name', 'Not_DNS'], /\/metadata\/name/],
  ];
  for (const [args, message] of cases) {
    const r = await run(['token', 'mint', ...args, '--write', dir]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.out, '', 'no token is printed for a refused mint');
    assert.match(r.err, message);
  }
  const missing = await run(['token', 'mint', '--agent', 'a', '--scopes', 'readonly', '--write', join(dir, 'nope')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.out, '');
  assert.deepEqual(await readdir(dir), [], 'nothing was written');
  assert.equal((await run(['token', 'mint', '--scopes', 'readonly'])).code, 2, '--agent is required');
});

test('list shows the tokens kubectl-style, and as JSON', async (t) => {
  const dir = await tempDir(t);
  await mint(dir, 'claude');
  await mint(dir, 'ci', ['--ttl', '1h', '--name', 'ci-token']);
  await writeFile(join(dir, 'broken.yaml'), 'kind: [\n');
  const r = await run(['token', 'list', '--manifests', dir]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME\s+ID\s+AGENT\s+SCOPES\s+EXPIRES\s+REVOKED$/);
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, /^ci-token\s+[a-z0-9]{16}\s+ci\s+readonly\s+\S+Z\s+false$/);
  assert.match(lines[2]!, /^claude-[a-z0-9]{16}\s+[a-z0-9]{16}\s+claude\s+readonly\s+\S+Z\s+false$/);
  assert.match(r.err, /warning: skipped: broken\.yaml/);
  const json = JSON.parse((await run(['token', 'list', '--manifests', dir, '-o', 'json'])).out) as Array<{ name: string; agent: string; revoked: boolean }>;
  assert.deepEqual(json.map((j) => [j.name.startsWith('claude-') ? 'claude-*' : j.name, j.agent, j.revoked]), [['ci-token', 'ci', false], ['claude-*', 'claude', false]]);
  assert.equal((await run(['token', 'list', '--manifests', join(dir, 'nope')])).code, 1);
});

test('list marks expired tokens', async (t) => {
  const dir = await tempDir(t);
  const { file } = await mint(dir, 'old');
  await writeFile(file, (await readFile(file, 'utf8')).replace(/expiresAt: .*/, 'expiresAt: 2001-01-01T00:00:00Z'));
  assert.match((await run(['token', 'list', '--manifests', dir])).out, /2001-01-01T00:00:00Z \(expired\)\s+false/);
});

test('revoke by id sets revoked: true in place, keeping comments and the other documents', async (t) => {
  const dir = await tempDir(t);
  const { token, file } = await mint(dir, 'claude');
  const { id } = parseToken(token)!;
  const other = 'apiVersion: systemmanager.io/v1alpha1\nkind: OutputPreference\nmetadata:\n  name: prefs # keep me\nspec:\n  format: toon\n';
  await writeFile(file, `${await readFile(file, 'utf8')}---\n# a neighbour\n${other}`);
  const r = await run(['token', 'revoke', id, '--manifests', dir]);
  assert.equal(r.code, 0, r.err);
  const text = await readFile(file, 'utf8');
  assert.match(text, /^# yaml-language-server/);
  assert.match(text, /\n {2}revoked: true\n/);
  assert.match(text, /# a neighbour\n/);
  assert.match(text, /name: prefs # keep me/);
  assert.deepEqual((await validatePaths([dir])).errors, []);
  assert.match((await run(['token', 'list', '--manifests', dir])).out, /claude\s+readonly\s+\S+\s+true\n/);
  const again = await run(['token', 'revoke', id, '--manifests', dir]);
  assert.equal(again.code, 0);
  assert.match(again.err, /already revoked/);
  assert.equal(await readFile(file, 'utf8'), text, 'revoking twice changes nothing');
});

test('revoke by name writes through a symlink, and refuses unknown or ambiguous targets', async (t) => {
  const dir = await tempDir(t);
  // Hidden directories are not read, so the token is declared once: through the link.
  await mkdir(join(dir, '.store'));
  const { file } = await mint(join(dir, '.store'), 'a', ['--name', 'linked']);
  await symlink(file, join(dir, 'linked.yaml'));
  const r = await run(['token', 'revoke', 'linked', '--manifests', dir]);
  assert.equal(r.code, 0, r.err);
  assert.equal((await lstat(join(dir, 'linked.yaml'))).isSymbolicLink(), true, 'the link is kept');
  assert.match(await readFile(file, 'utf8'), /revoked: true/);

  // The same token seen through a second link is two declarations: refuse, never guess.
  const minted = await mint(join(dir, '.store'), 'b', ['--name', 'twice']);
  await symlink(minted.file, join(dir, 'twice-1.yaml'));
  await symlink(minted.file, join(dir, 'twice-2.yaml'));
  const before = await readFile(minted.file, 'utf8');
  const ambiguous = await run(['token', 'revoke', 'twice', '--manifests', dir]);
  assert.equal(ambiguous.code, 1);
  assert.match(ambiguous.err, /matches 2 AccessTokens/);
  assert.equal(await readFile(minted.file, 'utf8'), before);

  const unknown = await run(['token', 'revoke', 'nobody', '--manifests', dir]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /NOT_FOUND/);

  const outside = await tempDir(t);
  const far = await mint(outside, 'c', ['--name', 'far']);
  await symlink(far.file, join(dir, 'far.yaml'));
  const list = await run(['token', 'list', '--manifests', dir]);
  assert.match(list.err, /symlink leads outside/, 'a symlink leading out of the directory is reported, not followed');
  assert.doesNotMatch(list.out, /^far /m);
  assert.equal((await run(['token', 'revoke', 'far', '--manifests', dir])).code, 1);
});

test('a token revoked with the CLI stops working on a server watching the directory', async (t) => {
  const dir = await tempDir(t);
  const { token } = await mint(dir, 'claude');
  const store = await ResourceStore.open();
  t.after(() => store.close());
  const index = new TokenIndex(store);
  t.after(() => index.close());
  const source = new ManifestSource(store, { dir });
  await source.start();
  t.after(() => source.stop());
  assert.equal(index.verify(token).ok, true);
  assert.equal((await run(['token', 'revoke', parseToken(token)!.id, '--manifests', dir])).code, 0);
  await waitFor(() => {
    const v = index.verify(token);
    return !v.ok && v.reason === 'revoked';
  }, { message: 'the revocation reaches the index' });
});
