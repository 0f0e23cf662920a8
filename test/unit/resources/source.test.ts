import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, rm, symlink, truncate, unlink, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceStore } from '../../../resources/store.ts';
import { ManifestSource } from '../../../resources/source.ts';
import { containerYaml, tempDir } from '../../support/manifests.ts';
import { waitFor } from '../../support/wait.ts';

async function startSource(t: import('node:test').TestContext, dir: string, opts: { allowEmpty?: boolean } = {}) {
  const store = await ResourceStore.open();
  const source = new ManifestSource(store, { dir, ...opts, logger: process.env.DBG ? (await import('../../../resources/log.ts')).createLogger({ level: 'debug' }) : undefined });
  await source.start();
  t.after(() => source.stop());
  return { store, source };
}

const image = (store: ResourceStore, name = 'web') => store.get('Container', name)?.spec.image;

test('loads files recursively and follows add, change, delete and rename', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'apps', 'nested'), { recursive: true });
  await writeFile(join(dir, 'apps', 'nested', 'web.yaml'), containerYaml('web'));
  await writeFile(join(dir, 'README.md'), '# not a manifest');
  const { store, source } = await startSource(t, dir);
  assert.equal(image(store), 'systemmanager-test/busybox:1');
  const uid = store.get('Container', 'web')!.metadata.uid;

  await writeFile(join(dir, 'db.yml'), containerYaml('db', { hostPort: 5432 }));
  await waitFor(() => store.get('Container', 'db'));

  await writeFile(join(dir, 'apps', 'nested', 'web.yaml'), containerYaml('web', { image: 'busybox:2' }));
  await waitFor(() => image(store) === 'busybox:2');

  await rename(join(dir, 'apps', 'nested', 'web.yaml'), join(dir, 'web.yaml'));
  await source.idle();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(store.get('Container', 'web')!.metadata.uid, uid, 'a rename is not a delete and re-create');

  await unlink(join(dir, 'db.yml'));
  await waitFor(() => !store.get('Container', 'db'));
  assert.deepEqual(source.errors(), []);
});

test('editors: truncate-then-write and write-temp-then-rename are both seen, without waiting seconds', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'web.yaml');
  await writeFile(file, containerYaml('web'));
  const { store } = await startSource(t, dir);

  // vim/nano style: truncate, then write in pieces.
  await truncate(file, 0);
  const text = containerYaml('web', { image: 'busybox:2' });
  await appendFile(file, text.slice(0, 40));
  await appendFile(file, text.slice(40));
  await waitFor(() => image(store) === 'busybox:2');
  assert.ok(store.get('Container', 'web'), 'the resource never went away during the truncate');

  // VS Code / atomic writers: write a temp file, rename it over the original.
  await writeFile(join(dir, '.web.yaml.swp'), containerYaml('web', { image: 'busybox:3' }));
  await rename(join(dir, '.web.yaml.swp'), file);
  const started = Date.now();
  await waitFor(() => image(store) === 'busybox:3');
  assert.ok(Date.now() - started < 5000);
});

// Each bad input: the file held a valid Container/web; after the bad write the error names the
// file (and line and field where there is one), and Container/web keeps its last good spec.
const badInputs: Array<{ name: string; content: string | Buffer; expect: RegExp }> = [
  { name: 'malformed YAML', content: 'apiVersion: [unclosed\nkind: Container\n', expect: /web\.yaml:\d+:\d+: document 1: / },
  { name: 'a document that is not a mapping', content: '- just\n- a list\n', expect: /web\.yaml:1:\d+: document 1: \/: a resource must be a mapping, got a sequence/ },
  { name: 'unknown kind', content: containerYaml('web').replace('kind: Container', 'kind: Containerz'), expect: /web\.yaml:2:\d+: Containerz\/web: \/kind: unknown kind "Containerz"/ },
  { name: 'unknown apiVersion', content: containerYaml('web').replace('v1alpha1', 'v9'), expect: /web\.yaml:1:\d+: Container\/web: \/apiVersion: unknown apiVersion "systemmanager.io\/v9"/ },
  { name: 'missing name', content: containerYaml('web').replace('  name: web\n', '  labels: {a: b}\n'), expect: /web\.yaml:\d+:\d+: document 1: \/metadata\/name: required field is missing/ },
  { name: 'uppercase name', content: containerYaml('Web'), expect: /web\.yaml:4:\d+: Container\/Web: \/metadata\/name: "Web" does not match/ },
  { name: 'name with ../', content: containerYaml('../etc'), expect: /\/metadata\/name: "\.\.\/etc" does not match/ },
  { name: 'unknown field in spec', content: containerYaml('web', { extraSpec: '  imagePullSecretz: x' }), expect: /web\.yaml:10:\d+: Container\/web: \/spec\/imagePullSecretz: unknown field/ },
  { name: 'port 70000', content: containerYaml('web', { hostPort: 70000 }), expect: /web\.yaml:9:\d+: Container\/web: \/spec\/ports\/0\/hostPort: must be <= 65535/ },
  { name: 'duplicate keys', content: containerYaml('web').replace('kind: Container\n', 'kind: Container\nkind: Container\n'), expect: /web\.yaml:3:1: document 1: duplicate key/ },
  { name: 'an alias bomb', content: aliasBomb(), expect: /alias bomb/ },
  { name: 'a __proto__ key', content: containerYaml('web').replace('spec:\n', 'spec:\n  __proto__:\n    polluted: true\n'), expect: /web\.yaml:6:3: document 1: the key "__proto__" is not allowed/ },
  { name: 'a !!js/function tag', content: containerYaml('web').replace('image: systemmanager-test/busybox:1', 'image: !!js/function "function () { return 1 }"'), expect: /web\.yaml:6:\d+: document 1: .*tag/ },
  { name: 'a binary file named .yaml', content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00]), expect: /web\.yaml: binary content/ },
  { name: 'a 50 MB file', content: Buffer.alloc(50 * 1024 * 1024, 0x23), expect: /web\.yaml: file (is \d+ bytes; the limit is 4194304|grew past the 4194304-byte limit)/ },
];

for (const bad of badInputs) {
  test(`bad input keeps the last good version: ${bad.name}`, async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'web.yaml');
    await writeFile(file, containerYaml('web'));
    await writeFile(join(dir, 'other.yaml'), containerYaml('other', { hostPort: 9090 }));
    const { store, source } = await startSource(t, dir);
    const before = store.get('Container', 'web')!;
    await writeFile(file, bad.content);
    await waitFor(() => source.errors().length > 0);
    const messages = source.errors().map((e) => e.message);
    assert.ok(messages.some((m) => bad.expect.test(m)), `expected ${bad.expect} in:\n${messages.join('\n')}`);
    assert.equal(store.get('Container', 'web'), before, 'the last good version stays in force, untouched');
    assert.ok(store.get('Container', 'other'), 'other files are unaffected');
    assert.equal(source.errorsFor('Container/web').length > 0, true, 'describe can show the error for the resource');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);

    await writeFile(file, containerYaml('web', { image: 'busybox:fixed' }));
    await waitFor(() => image(store) === 'busybox:fixed');
    assert.deepEqual(source.errors(), [], 'fixing the file clears its error');
  });
}

test('negative interval in a HealthProbe is refused with its field', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, 'probe.yaml'),
    'apiVersion: systemmanager.io/v1alpha1\nkind: HealthProbe\nmetadata:\n  name: self\nspec:\n  interval: -5s\n  tcp:\n    host: 127.0.0.1\n    port: 8080\n',
  );
  const { store, source } = await startSource(t, dir);
  assert.equal(store.get('HealthProbe', 'self'), undefined);
  assert.match(source.errors().map((e) => e.message).join('\n'), /probe\.yaml:6:\d+: HealthProbe\/self: \/spec\/interval: "-5s" does not match/);
});

test('two files defining Container/web: an error naming both, the first version stays', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), containerYaml('web'));
  const { store, source } = await startSource(t, dir);
  await writeFile(join(dir, 'b.yaml'), containerYaml('web', { image: 'busybox:other' }));
  await waitFor(() => source.errors().length === 2);
  const [ea, eb] = source.errors().map((e) => e.message);
  assert.match(ea!, /^a\.yaml:1: Container\/web: also defined in b\.yaml:1$/);
  assert.match(eb!, /^b\.yaml:1: Container\/web: also defined in a\.yaml:1$/);
  assert.equal(image(store), 'systemmanager-test/busybox:1');
  await unlink(join(dir, 'b.yaml'));
  await waitFor(() => source.errors().length === 0);
  assert.equal(image(store), 'systemmanager-test/busybox:1');
});

test('two files defining the same name on first load: neither is applied', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), containerYaml('web'));
  await writeFile(join(dir, 'b.yaml'), containerYaml('web', { image: 'busybox:other' }));
  const { store, source } = await startSource(t, dir);
  assert.equal(store.get('Container', 'web'), undefined);
  assert.equal(source.errors().length, 2);
});

test('a symlink loop and a symlink leading out of the directory are reported, not followed', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'web.yaml'), containerYaml('web'));
  await mkdir(join(dir, 'sub'));
  await symlink('..', join(dir, 'sub', 'loop'));
  await symlink('/etc/hostname', join(dir, 'escape.yaml'));
  const { store, source } = await startSource(t, dir);
  assert.ok(store.get('Container', 'web'));
  const messages = source.errors().map((e) => e.message).join('\n');
  assert.match(messages, /loop/);
  assert.match(messages, /escape\.yaml: symlink leads outside/);
});

test('a file deleted while being read is simply gone, with no error', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'web.yaml'), containerYaml('web'));
  const { store, source } = await startSource(t, dir);
  for (let i = 0; i < 20; i++) {
    const f = join(dir, `flicker-${i}.yaml`);
    await writeFile(f, containerYaml(`flicker-${i}`, { hostPort: 9000 + i }));
    await rm(f);
  }
  await source.idle();
  await new Promise((r) => setTimeout(r, 100));
  await source.idle();
  assert.deepEqual(source.errors(), []);
  assert.equal(store.list('Container').length, 1);
});

test('removing every file is an empty source: nothing is deleted and pruning is off', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'web.yaml'), containerYaml('web'));
  await writeFile(join(dir, 'db.yaml'), containerYaml('db', { hostPort: 5432 }));
  const { store } = await startSource(t, dir);
  assert.equal(store.sourceState.pruneAllowed, true);
  await rm(join(dir, 'web.yaml'));
  await rm(join(dir, 'db.yaml'));
  await waitFor(() => store.sourceState.empty);
  assert.equal(store.sourceState.pruneAllowed, false);
  assert.match(store.sourceState.message!, /declares no resources any more; keeping the last 2/);
  assert.equal(store.list('Container').length, 2);
  await writeFile(join(dir, 'web.yaml'), containerYaml('web'));
  await waitFor(() => !store.sourceState.empty);
  await waitFor(() => store.list('Container').length === 1, { message: 'once the source declares something again, db really is gone' });
});

test('with allowEmpty, removing every file deletes everything', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'web.yaml'), containerYaml('web'));
  const { store } = await startSource(t, dir, { allowEmpty: true });
  await rm(join(dir, 'web.yaml'));
  await waitFor(() => store.list('Container').length === 0);
  assert.equal(store.sourceState.pruneAllowed, true);
});

function aliasBomb(): string {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) {
    const c = String.fromCharCode(97 + i);
    const p = String.fromCharCode(96 + i);
    lines.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(',')}]`);
  }
  return lines.join('\n');
}
