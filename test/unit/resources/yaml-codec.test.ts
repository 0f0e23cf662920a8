import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifestText, readManifestFile, isWithin, stringifyManifest, DEFAULT_LIMITS } from '../../../resources/yaml-codec.ts';

function errorsOf(text: string) {
  return parseManifestText(text, 'm.yaml').errors.map((e) => e.message);
}

test('parses several documents, skipping empty ones, and keeps their index and line', () => {
  const { documents, errors } = parseManifestText('a: 1\n---\n---\nb:\n  c: [1, 2]\n', 'm.yaml');
  assert.deepEqual(errors, []);
  assert.deepEqual(documents.map((d) => [d.index, d.line, d.value]), [
    [0, 1, { a: 1 }],
    [2, 4, { b: { c: [1, 2] } }],
  ]);
});

test('maps a JSON pointer to the line of the field (or its nearest parent)', () => {
  const text = 'kind: Container\nspec:\n  ports:\n    - containerPort: 80\n      hostPort: 70000\n';
  const [doc] = parseManifestText(text, 'm.yaml').documents;
  assert.equal(doc!.lineOf('/spec/ports/0/hostPort').line, 5);
  assert.equal(doc!.lineOf('/spec/ports/0/missing').line, 4);
  assert.equal(doc!.lineOf('/kind').line, 1);
});

test('malformed YAML is an error with file, line and document', () => {
  const [msg] = errorsOf('a: 1\n---\nb: [1, 2\n');
  assert.match(msg!, /^m\.yaml:\d+:\d+: document 2: /);
});

test('duplicate keys are refused', () => {
  const [msg] = errorsOf('a: 1\nb: 2\na: 3\n');
  assert.match(msg!, /m\.yaml:3:1: document 1: duplicate key/);
});

test('custom tags such as !!js/function and local tags are refused', () => {
  assert.match(errorsOf('a: !!js/function "function(){}"\n')[0]!, /tag/i);
  assert.match(errorsOf('a: !foo bar\n')[0]!, /tag/i);
  assert.deepEqual(errorsOf('a: !!str 12\n'), []);
});

test('merge keys and __proto__ keys are refused, so nothing reaches a prototype', () => {
  assert.match(errorsOf('base: &b {x: 1}\nc:\n  <<: *b\n')[0]!, /merge keys/);
  const msgs = errorsOf('__proto__:\n  polluted: true\n');
  assert.match(msgs[0]!, /m\.yaml:1:1: .*"__proto__" is not allowed/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('an alias bomb stops at the alias limit', () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  const msgs = errorsOf(bomb.join('\n'));
  assert.equal(msgs.length, 1);
  assert.match(msgs[0]!, /alias bomb/);
});

test('a text over the size limit is refused before parsing', () => {
  const msgs = parseManifestText('a: 1\n', 'm.yaml', { ...DEFAULT_LIMITS, maxFileBytes: 3 }).errors.map((e) => e.message);
  assert.match(msgs[0]!, /larger than the 3-byte limit/);
});

test('too many documents are refused', () => {
  const msgs = parseManifestText('a: 1\n---\nb: 2\n---\nc: 3\n', 'm.yaml', { ...DEFAULT_LIMITS, maxDocuments: 2 }).errors.map((e) => e.message);
  assert.match(msgs[0]!, /3 documents; the limit is 2/);
});

test('readManifestFile refuses huge, binary, special and escaping files without blocking', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sm-codec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const big = join(dir, 'big.yaml');
  await writeFile(big, Buffer.alloc(50 * 1024 * 1024, 0x61));
  await assert.rejects(readManifestFile(big), /big\.yaml: file is 52428800 bytes; the limit is/);
  const bin = join(dir, 'bin.yaml');
  await writeFile(bin, Buffer.from([0x61, 0x3a, 0x00, 0xff, 0x10]));
  await assert.rejects(readManifestFile(bin), /binary content/);
  const latin1 = join(dir, 'latin1.yaml');
  await writeFile(latin1, Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
  await assert.rejects(readManifestFile(latin1), /not valid UTF-8/);
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(readManifestFile(fifo), /not a regular file/);
  await assert.rejects(readManifestFile('/etc/hostname', { mustBeUnder: dir }), /outside/);
  const ok = join(dir, 'ok.yaml');
  await writeFile(ok, 'a: 1\n');
  assert.equal((await readManifestFile(ok, { mustBeUnder: dir })).text, 'a: 1\n');
});

test('isWithin is separator-aware', () => {
  assert.equal(isWithin('/srv/data', '/srv/data/x.yaml'), true);
  assert.equal(isWithin('/srv/data', '/srv/data'), true);
  assert.equal(isWithin('/srv/data', '/srv/data-evil/x.yaml'), false);
});

test('stringifyManifest round-trips through the parser', () => {
  const values = [{ a: 1, b: ['x', 'y'] }, { c: { d: 'e: f' } }];
  const { documents, errors } = parseManifestText(stringifyManifest(values), 'x.yaml');
  assert.deepEqual(errors, []);
  assert.deepEqual(documents.map((d) => d.value), values);
});
