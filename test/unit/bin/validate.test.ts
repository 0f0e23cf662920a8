import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main, type CliIO } from '../../../bin/cli.ts';
import { containerYaml, tempDir } from '../../support/manifests.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t), color: false };
  const code = await main(['node', 'systemmanager', ...args], io);
  return { code, out, err };
}

test('validate passes the shipped examples and the default manifests', async () => {
  const r = await run(['validate', 'manifests/examples', 'manifests/default']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^valid: \d+ files, \d+ resources$/m);
});

test('validate reports file:line, resource and field, and exits 1', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'apps'));
  await writeFile(join(dir, 'apps', 'web.yaml'), containerYaml('web', { hostPort: 70000 }));
  await writeFile(join(dir, 'ok.yaml'), containerYaml('ok'));
  const r = await run(['validate', dir]);
  assert.equal(r.code, 1);
  assert.match(r.out, /apps\/web\.yaml:9:\d+: Container\/web: \/spec\/ports\/0\/hostPort: must be <= 65535/);
  assert.match(r.out, /invalid: 1 error in 2 files, 1 resource/);
});

test('validate -o json is machine-readable', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), containerYaml('web'));
  await writeFile(join(dir, 'b.yaml'), containerYaml('web'));
  const r = await run(['validate', '-o', 'json', dir]);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.out) as { valid: boolean; errors: Array<{ code: string; file: string; resource: string }> };
  assert.equal(report.valid, false);
  assert.deepEqual(report.errors.map((e) => [e.code, e.resource]), [['DUPLICATE_RESOURCE', 'Container/web'], ['DUPLICATE_RESOURCE', 'Container/web']]);
  assert.ok(report.errors.every((e) => e.file.endsWith('.yaml')));
});

test('validate of a path with no manifests or a missing path fails', async (t) => {
  const dir = await tempDir(t);
  assert.equal((await run(['validate', dir])).code, 1);
  const missing = await run(['validate', join(dir, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.out, /nope: no such file or directory/);
});

test('usage errors exit 2 with help; --help exits 0', async () => {
  const r = await run(['validate']);
  assert.equal(r.code, 2);
  assert.match(r.err, /missing required argument 'paths'/);
  assert.equal((await run(['validate', '-o', 'xml', 'manifests/examples'])).code, 2);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /validate/);
});

test('npx systemmanager works through the bin entry', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/systemmanager.js', 'validate', 'manifests/examples']);
  assert.match(stdout, /^valid: /m);
});
