import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createToolRegistry } from '../../../../mcp/server/index.ts';
import { connect, errorOf, harness, principal } from './fixtures.ts';
import { tempDir } from '../../../support/manifests.ts';

/** files builds a client for a file:read token over a server whose only root is `root` (plus `extra`). */
async function files(t: TestContext, roots: string[]) {
  const h = await harness(t);
  const services = { ...h.services, fileRoots: roots };
  const registry = createToolRegistry(services, { audit: h.audit });
  const client = await connect(t, { ...h, services, registry }, principal('reader', ['file:read'], 'tok'));
  return async (args: Record<string, unknown>) => {
    const r = await client.callTool({ name: 'file_operations', arguments: args });
    return r;
  };
}

async function layout(t: TestContext) {
  const base = await tempDir(t, 'sm-files-');
  const root = join(base, 'data');
  const evil = join(base, 'data-evil');
  await mkdir(join(root, 'logs', 'old'), { recursive: true });
  await mkdir(evil);
  await writeFile(join(root, 'hello.txt'), 'line 1\nline 2\nline 3\n');
  await writeFile(join(root, 'logs', 'app.log'), Array.from({ length: 300 }, (_, i) => `${i} ${i % 50 === 0 ? 'ERROR disk full' : 'ok'}`).join('\n') + '\n');
  await writeFile(join(root, 'logs', 'old', 'app.1.log'), 'ERROR old failure\n');
  await writeFile(join(evil, 'secret.txt'), 'sibling secret');
  return { base, root, evil };
}

const refusal = (result: unknown) => {
  const r = result as { isError?: boolean; content?: unknown };
  assert.equal(r.isError, true, 'the call is refused');
  return errorOf(r);
};

test('without --file-root the tool is off and says so', async (t) => {
  const call = await files(t, []);
  const e = refusal(await call({ operation: 'list', path: '/' }));
  assert.equal(e.code, 'FILE_ROOTS_NOT_CONFIGURED');
  assert.match(e.message, /started without --file-root/);
});

test('list, stat, read with paging, tail and search work under a root', async (t) => {
  const { root } = await layout(t);
  const call = await files(t, [root]);
  const listed = (await call({ operation: 'list', path: root })).structuredContent as { entries: Array<{ name: string; type: string }> };
  assert.deepEqual(listed.entries.map((e) => [e.name, e.type]), [['hello.txt', 'file'], ['logs', 'directory']]);
  const st = (await call({ operation: 'stat', path: 'hello.txt' })).structuredContent as { path: string; stat: { type: string; size: number } };
  assert.deepEqual([st.path, st.stat.type, st.stat.size], [join(root, 'hello.txt'), 'file', 21]);
  const page1 = (await call({ operation: 'read', path: join(root, 'hello.txt'), limit: 7 })).structuredContent as { content: string; nextOffset: number; eof: boolean };
  assert.deepEqual([page1.content, page1.nextOffset, page1.eof], ['line 1\n', 7, false]);
  const page2 = (await call({ operation: 'read', path: join(root, 'hello.txt'), offset: 7 })).structuredContent as { content: string; eof: boolean };
  assert.deepEqual([page2.content, page2.eof], ['line 2\nline 3\n', true]);
  const tailed = (await call({ operation: 'tail', path: join(root, 'logs', 'app.log'), lines: 3 })).structuredContent as { lines: string[] };
  assert.deepEqual(tailed.lines, ['297 ok', '298 ok', '299 ok']);
  const byName = (await call({ operation: 'search', path: root, namePattern: '*.log' })).structuredContent as { results: Array<{ path: string }> };
  assert.deepEqual(byName.results.map((r) => r.path).sort(), [join(root, 'logs', 'app.log'), join(root, 'logs', 'old', 'app.1.log')]);
  const byContent = (await call({ operation: 'search', path: root, contentPattern: 'ERROR*full', match: 'glob', maxResults: 3 })).structuredContent as { results: Array<{ line: number; text: string }>; limited: string[] };
  assert.deepEqual(byContent.results.map((r) => r.text), ['0 ERROR disk full', '50 ERROR disk full', '100 ERROR disk full']);
  assert.deepEqual(byContent.limited, ['results: stopped at 3']);
});

test('attack: ../../etc/shadow is refused', async (t) => {
  const { root } = await layout(t);
  const call = await files(t, [root]);
  for (const path of ['../../etc/shadow', `${root}/../../etc/shadow`]) {
    const e = refusal(await call({ operation: 'read', path }));
    assert.equal(e.code, 'PATH_INVALID');
    assert.match(e.message, /"\.\." segments are not allowed/);
  }
});

test('attack: /etc/passwd outside the roots is refused', async (t) => {
  const { root } = await layout(t);
  const call = await files(t, [root]);
  const e = refusal(await call({ operation: 'read', path: '/etc/passwd' }));
  assert.equal(e.code, 'PATH_FORBIDDEN');
  assert.match(e.message, /outside the allowed roots/);
});

test('attack: a sibling directory sharing the root as prefix is refused', async (t) => {
  const { root, evil } = await layout(t);
  const call = await files(t, [root]);
  const e = refusal(await call({ operation: 'read', path: join(evil, 'secret.txt') }));
  assert.equal(e.code, 'PATH_FORBIDDEN');
  assert.match(e.message, /data-evil\/secret.txt": it is outside the allowed roots/);
  assert.ok(!JSON.stringify(e).includes('sibling secret'));
});

test('attack: a symlink inside the root pointing to /etc is refused, for the link and through it', async (t) => {
  const { root } = await layout(t);
  await symlink('/etc', join(root, 'etc-link'));
  await symlink('/etc/passwd', join(root, 'passwd-link'));
  const call = await files(t, [root]);
  for (const path of [join(root, 'passwd-link'), join(root, 'etc-link', 'passwd'), join(root, 'etc-link')]) {
    const e = refusal(await call({ operation: path.endsWith('etc-link') ? 'list' : 'read', path }));
    assert.equal(e.code, 'PATH_FORBIDDEN', path);
    assert.match(e.message, /a symlink on the way leads outside the allowed roots/);
  }
  // search never follows the symlinks, so /etc's files do not show up
  const found = (await call({ operation: 'search', path: root, namePattern: 'passwd*' })).structuredContent as { results: unknown[] };
  assert.deepEqual(found.results, []);
});

test('attack: a symlinked intermediate directory leading outside is refused', async (t) => {
  const { root, evil } = await layout(t);
  await symlink(evil, join(root, 'sub'));
  const call = await files(t, [root]);
  const e = refusal(await call({ operation: 'read', path: join(root, 'sub', 'secret.txt') }));
  assert.equal(e.code, 'PATH_FORBIDDEN');
  assert.match(e.message, /symlink on the way leads outside/);
  // a symlink that stays inside the root is fine
  await symlink(join(root, 'logs'), join(root, 'logs-link'));
  const ok = await call({ operation: 'read', path: join(root, 'logs-link', 'old', 'app.1.log') });
  assert.equal((ok.structuredContent as { content: string }).content, 'ERROR old failure\n');
});

test('attack: /proc/self/environ is refused even when / is a root', async (t) => {
  const call = await files(t, ['/']);
  const e = refusal(await call({ operation: 'read', path: '/proc/self/environ' }));
  assert.equal(e.code, 'PATH_FORBIDDEN');
  assert.match(e.message, /\/proc, \/sys, \/dev are never readable/);
});

test('attack: a FIFO is refused without blocking', async (t) => {
  const { root } = await layout(t);
  execFileSync('mkfifo', [join(root, 'pipe')]);
  const call = await files(t, [root]);
  for (const operation of ['read', 'tail']) {
    const e = refusal(await call({ operation, path: join(root, 'pipe') }));
    assert.equal(e.code, 'PATH_FORBIDDEN');
    assert.match(e.message, /it is a FIFO; only regular files are read/);
  }
});

test('attack: a 2 GB (sparse) file is read one capped page at a time, and tail reads only its end', async (t) => {
  const { root } = await layout(t);
  const big = join(root, 'big.bin');
  await writeFile(big, '');
  await truncate(big, 2 * 1024 ** 3);
  const fh = await open(big, 'r+');
  await fh.write('\nlast line\n', 2 * 1024 ** 3 - 11);
  await fh.close();
  const call = await files(t, [root]);
  const r = (await call({ operation: 'read', path: big, limit: 1048576 })).structuredContent as { bytesRead: number; nextOffset: number; size: number; encoding: string };
  assert.equal(r.size, 2 * 1024 ** 3);
  assert.equal(r.bytesRead, 1048576);
  assert.equal(r.nextOffset, 1048576);
  assert.equal(r.encoding, 'base64');
  const over = refusal(await call({ operation: 'read', path: big, limit: 2 * 1024 ** 3 }));
  assert.equal(over.code, 'INVALID_ARGUMENTS');
  assert.match(over.message, /\/limit: must be <= 1048576/);
  const tailed = (await call({ operation: 'tail', path: big, lines: 1 })).structuredContent as { lines: string[] };
  assert.deepEqual(tailed.lines, ['last line']);
  // Asking for more lines than exist near the end stops at the backwards-read budget and says so.
  const budget = (await call({ operation: 'tail', path: big, lines: 5 })).structuredContent as { lines: string[]; limited: string[] };
  assert.equal(budget.lines.length, 2);
  assert.equal(budget.lines[1], 'last line');
  assert.deepEqual(budget.limited, [`bytes: read the last ${4 * 1024 * 1024} bytes only`]);
});

test('attack: NUL bytes, ~ and percent-encoded dots are refused', async (t) => {
  const { root } = await layout(t);
  const call = await files(t, [root]);
  const cases: Array<[string, RegExp]> = [
    [`${root}/hello.txt\0.png`, /contains a NUL byte/],
    ['~/.ssh/id_rsa', /"~" is not expanded/],
    ['~root/.bashrc', /"~" is not expanded/],
    [`${root}/%2e%2e/%2e%2e/etc/passwd`, /percent-encoding/],
  ];
  for (const [path, why] of cases) {
    const e = refusal(await call({ operation: 'read', path }));
    assert.equal(e.code, 'PATH_INVALID', path);
    assert.match(e.message, why);
  }
});

test('attack: a catastrophic search pattern is either literal text or refused, never a regex', async (t) => {
  const { root } = await layout(t);
  await writeFile(join(root, 'aaaa.txt'), `${'a'.repeat(50_000)}!\n`);
  const call = await files(t, [root]);
  // The classic ReDoS pattern is plain text here: it completes and finds nothing.
  const literal = (await call({ operation: 'search', path: root, contentPattern: '(a+)+$' })).structuredContent as { results: unknown[] };
  assert.deepEqual(literal.results, []);
  // A glob with many stars is refused before any file is read.
  const e = refusal(await call({ operation: 'search', path: root, contentPattern: '*a*a*a*a*a*a*a*a*a*a*b', match: 'glob' }));
  assert.equal(e.code, 'PATTERN_TOO_COMPLEX');
  assert.match(e.message, /at most 8 "\*" \(this one has 11\).*never regular expressions/);
  // There is no regex mode at all.
  const regex = refusal(await call({ operation: 'search', path: root, contentPattern: '(a+)+$', match: 'regex' }));
  assert.equal(regex.code, 'INVALID_ARGUMENTS');
  // The most a glob may have still runs linearly on the 50,000-character line.
  const bounded = (await call({ operation: 'search', path: root, contentPattern: 'a*a*a*a*a*a*a*a*b', match: 'glob' })).structuredContent as { results: unknown[] };
  assert.deepEqual(bounded.results, []);
});

test('search does not loop on a symlink cycle', async (t) => {
  const { root } = await layout(t);
  await symlink(root, join(root, 'logs', 'loop'));
  const call = await files(t, [root]);
  const r = (await call({ operation: 'search', path: root, namePattern: '*.log', maxDepth: 10 })).structuredContent as { results: Array<{ path: string }> };
  assert.equal(r.results.length, 2);
  const e = refusal(await call({ operation: 'read', path: join(root, 'missing.txt') }));
  assert.equal(e.code, 'NOT_FOUND');
  const notDir = refusal(await call({ operation: 'search', path: join(root, 'hello.txt'), namePattern: '*' }));
  assert.equal(notDir.code, 'INVALID_ARGUMENTS');
  assert.match(notDir.message, /is a regular file|not a directory/);
});
