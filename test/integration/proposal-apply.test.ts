// Proposals applied for real: files in a git work tree, one commit per proposal, and crash safety —
// a child process approving a proposal is killed with SIGKILL at several points, and a new service
// must recover so that every file is whole and the proposal's phase matches what is on disk.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { AuditLog, verifyAuditLog } from '../../controllers/audit/index.ts';
import { PAUSE_ENV, ProposalService } from '../../controllers/proposal/index.ts';
import { expandScopes } from '../../resources/scopes.ts';
import { silentLogger } from '../../resources/log.ts';
import { ManifestSource } from '../../resources/source.ts';
import { ResourceStore } from '../../resources/store.ts';
import { tempDir } from '../support/manifests.ts';
import { commandAvailable, requirePart } from '../support/parts.ts';

const run = promisify(execFile);
const repoRoot = new URL('../../', import.meta.url);
const alice = { agent: 'alice', tokenId: 'tok-alice' };
const bob = { identity: { agent: 'bob', tokenId: 'tok-bob', tailscaleLogin: 'bob@example.com' }, scopes: expandScopes(['proposals:approve']) };

const WEB = 'apiVersion: systemmanager.io/v1alpha1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: systemmanager-test/busybox:1\n  state: running\n';

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await run('git', ['-C', dir, '-c', 'user.name=test', '-c', 'user.email=test@localhost', ...args])).stdout;
}

async function repo(t: TestContext): Promise<{ manifests: string; state: string }> {
  const root = await tempDir(t, 'sm-git-');
  const manifests = join(root, 'manifests');
  const state = join(root, 'state');
  await mkdir(manifests);
  await git(manifests, 'init', '-q', '-b', 'main');
  await writeFile(join(manifests, 'web.yaml'), WEB);
  await writeFile(join(manifests, 'notes.yaml'), '# notes\n');
  await git(manifests, 'add', '.');
  await git(manifests, 'commit', '-q', '-m', 'initial');
  return { manifests, state };
}

async function open(manifests: string, state: string) {
  const store = await ResourceStore.open({ stateDir: state });
  const source = new ManifestSource(store, { dir: manifests, watch: false });
  await source.start();
  const audit = await AuditLog.open(state);
  const service = new ProposalService({ store, source, audit, manifestsDir: manifests, logger: silentLogger, git: 'auto' });
  const close = async () => {
    await source.stop();
    await audit.close();
    await store.close();
  };
  return { store, source, audit, service, close };
}

async function proposeTwoFiles(manifests: string, state: string): Promise<string> {
  const s = await open(manifests, state);
  const p = await s.service.propose({
    changes: [
      { operation: 'update', object: { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name: 'web' }, spec: { image: 'systemmanager-test/busybox:1', state: 'stopped' } } },
      { operation: 'create', object: { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Package', metadata: { name: 'curl' }, spec: { name: 'curl' } } },
    ],
    reason: 'Stop web and install curl',
    proposedBy: alice,
  });
  await s.close();
  return p.metadata.name;
}

const gitHint = 'git is not installed (apt-get install -y git)';

test('an approved proposal is written and committed once: approver as author, only its files', async (t) => {
  if (!(await requirePart(t, 'git', () => commandAvailable('git'), gitHint))) return;
  const { manifests, state } = await repo(t);
  const id = await proposeTwoFiles(manifests, state);
  await writeFile(join(manifests, 'notes.yaml'), '# notes, edited by hand and not committed\n');
  const s = await open(manifests, state);
  t.after(s.close);
  const done = await s.service.approve(id, bob, 'fine');
  assert.equal(done.status?.phase, 'Applied');
  const head = (await git(manifests, 'rev-parse', 'HEAD')).trim();
  assert.equal(done.status?.commit, head);
  const [author, committer] = (await git(manifests, 'log', '-1', '--format=%an <%ae>%n%cn <%ce>')).trim().split('\n');
  assert.equal(author, 'bob <bob@example.com>');
  assert.equal(committer, 'systemmanager <systemmanager@localhost>');
  const message = await git(manifests, 'log', '-1', '--format=%B');
  assert.match(message, new RegExp(`^Stop web and install curl\\n\\nProposal: ${id}\\nProposed-by: alice, token tok-alice\\nApproved-by: bob, token tok-bob, tailscale bob@example.com\\n`));
  assert.deepEqual((await git(manifests, 'show', '--name-only', '--format=', 'HEAD')).trim().split('\n').sort(), ['packages/curl.yaml', 'web.yaml']);
  assert.match(await git(manifests, 'status', '--porcelain'), /^ M notes\.yaml$/m, 'the unrelated edit stays uncommitted');
  assert.equal((await s.service.approveWithOutcome(id, bob)).replayed, true);
  assert.equal((await git(manifests, 'rev-parse', 'HEAD')).trim(), head, 'a replay makes no second commit');
});

const CHILD = `
import { AuditLog } from ${JSON.stringify(new URL('controllers/audit/index.ts', repoRoot).href)};
import { ProposalService } from ${JSON.stringify(new URL('controllers/proposal/index.ts', repoRoot).href)};
import { expandScopes } from ${JSON.stringify(new URL('resources/scopes.ts', repoRoot).href)};
import { silentLogger } from ${JSON.stringify(new URL('resources/log.ts', repoRoot).href)};
import { ManifestSource } from ${JSON.stringify(new URL('resources/source.ts', repoRoot).href)};
import { ResourceStore } from ${JSON.stringify(new URL('resources/store.ts', repoRoot).href)};
const [manifests, state, id] = process.argv.slice(2);
const store = await ResourceStore.open({ stateDir: state });
const source = new ManifestSource(store, { dir: manifests, watch: false });
await source.start();
const audit = await AuditLog.open(state);
const service = new ProposalService({ store, source, audit, manifestsDir: manifests, logger: silentLogger, git: 'auto' });
await service.approve(id, { identity: { agent: 'bob', tokenId: 'tok-bob' }, scopes: expandScopes(['proposals:approve']) });
process.stdout.write('SYSTEMMANAGER_TEST_DONE\\n');
`;

async function approveAndKill(t: TestContext, manifests: string, state: string, id: string, point: string): Promise<void> {
  const script = join(await tempDir(t, 'sm-child-'), 'approve.mts');
  await writeFile(script, CHILD);
  const child = spawn(process.execPath, ['--import', 'tsx', script, manifests, state, id], {
    cwd: new URL('.', repoRoot).pathname,
    env: { ...process.env, [PAUSE_ENV]: point },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`SYSTEMMANAGER_TEST_PAUSED ${point}`)) resolve();
      if (out.includes('SYSTEMMANAGER_TEST_DONE')) reject(new Error(`the child finished without pausing at ${point}`));
    });
    void exited.then(() => reject(new Error(`the child exited before pausing at ${point}: ${err}`)));
  });
  child.kill('SIGKILL');
  await exited;
}

for (const point of ['approved', 'file:1', 'files-written', 'committed']) {
  test(`kill -9 after "${point}": restart recovers to Applied, files whole, exactly one commit`, async (t) => {
    if (!(await requirePart(t, 'git', () => commandAvailable('git'), gitHint))) return;
    const { manifests, state } = await repo(t);
    const id = await proposeTwoFiles(manifests, state);
    await approveAndKill(t, manifests, state, id, point);

    // Right after the crash: the durable phase is Approved, and every file is whole.
    const crashed = JSON.parse(await readFile(join(state, 'resources', 'Proposal', `${id}.json`), 'utf8')) as { status: { phase: string } };
    assert.equal(crashed.status.phase, 'Approved');
    for (const file of (await readdir(manifests, { recursive: true })).filter((f) => f.endsWith('.yaml'))) {
      const docs = parseAllDocuments(await readFile(join(manifests, file), 'utf8'));
      assert.ok(Array.isArray(docs) && docs.every((d) => d.errors.length === 0), `${file} parses`);
    }

    const s = await open(manifests, state);
    t.after(s.close);
    await s.service.recover();
    const p = s.service.get(id)!;
    assert.equal(p.status?.phase, 'Applied', String(p.status?.message));
    assert.match(await readFile(join(manifests, 'web.yaml'), 'utf8'), /state: stopped/);
    assert.match(await readFile(join(manifests, 'packages', 'curl.yaml'), 'utf8'), /name: curl/);
    const commits = async () => (await git(manifests, 'log', '--format=%H', '--fixed-strings', `--grep=Proposal: ${id}`)).trim().split('\n').filter(Boolean);
    assert.deepEqual(await commits(), [p.status?.commit]);
    assert.equal((await git(manifests, 'status', '--porcelain')).trim(), '', 'everything the proposal wrote is committed');
    assert.deepEqual(await verifyAuditLog(s.audit.path), { ok: true, lines: (await s.audit.tail(1000)).length });

    // Recovering again (another restart) changes nothing.
    await s.service.recover();
    assert.equal((await commits()).length, 1);
  });
}
