#!/usr/bin/env node
// Test entry point (`npm test`). Node 20 does not glob .ts files itself, so this finds them and
// runs node's built-in test runner through tsx:
//   node scripts/run-tests.mjs [paths...]   test/**/*.test.ts (not test/bench/), or those under paths
//   node scripts/run-tests.mjs --bench [paths...]   each test/bench/**/*.bench.ts, one after another
// Unit tests run in parallel; test/integration and test/e2e share one Docker engine, apt and
// loopback ports, so they run afterwards in a second invocation with --test-concurrency=1.
// Output is echoed live; node's closing counts (ℹ pass N ...) are summed into one last line
// "N passed, N failed[, N skipped]" for CI.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const bench = args.includes('--bench');
const paths = args.filter((a) => a !== '--bench');
// A hung test must not eat CI's 90 minutes; override with SYSTEMMANAGER_TEST_TIMEOUT (ms).
const testTimeout = process.env.SYSTEMMANAGER_TEST_TIMEOUT ?? '300000';

/** Files under dir (recursively, skipping node_modules) whose name ends with suffix. */
function find(dir, suffix) {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) return [];
  if (st.isFile()) return dir.endsWith(suffix) ? [dir] : [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== 'node_modules')
    .flatMap((e) => find(join(dir, e.name), suffix));
}

const under = (file, dir) => file === dir || file.startsWith(dir + sep);
const roots = paths.length ? paths.map((p) => resolve(p)) : [join(root, 'test')];
const benchDir = join(root, 'test', 'bench');
const files = [...new Set(roots.flatMap((r) => find(r, bench ? '.bench.ts' : '.test.ts')))]
  .filter((f) => (bench ? under(f, benchDir) : !under(f, benchDir)))
  .map((f) => relative(root, f))
  .sort();

if (files.length === 0) {
  console.log(`no ${bench ? 'benchmark' : 'test'} files found under ${roots.map((r) => relative(root, r) || '.').join(', ')}`);
  process.exit(paths.length ? 1 : 0); // a path given by hand that holds nothing is probably a typo
}

// Pass Ctrl-C / CI cancellation on to the running child, which then reports and exits.
let child;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child?.kill(sig));

/** Runs node with args in the repo root; echoes stdout live and collects node's closing counts. */
function run(nodeArgs, env) {
  return new Promise((done) => {
    const c = spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    child = c;
    const counts = {};
    let pending = '';
    const parse = (line) => {
      // eslint-disable-next-line no-control-regex
      const m = /^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) counts[m[1]] = Number(m[2]);
    };
    c.stdout.setEncoding('utf8'); // decodes multi-byte characters split across chunks (ℹ)
    c.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(parse);
    });
    c.on('close', (code, signal) => {
      parse(pending);
      done({ code: code ?? (signal ? 1 : 0), counts });
    });
  });
}

// Keep the spec reporter's colours on a terminal although its stdout is a pipe here.
const env = { ...process.env };
if (process.stdout.isTTY && env.NO_COLOR === undefined && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '1';

if (bench) {
  let failed = 0;
  for (const file of files) {
    console.log(`\n=== ${file}`);
    const { code } = await run(['--import', 'tsx', file], env);
    if (code !== 0) {
      failed++;
      console.log(`=== ${file} exited with ${code}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

const serial = files.filter((f) => under(f, join('test', 'integration')) || under(f, join('test', 'e2e')));
const parallel = files.filter((f) => !serial.includes(f));
const base = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-timeout=${testTimeout}`];
const results = [];
if (parallel.length) results.push(await run([...base, ...parallel], env));
if (serial.length) {
  if (parallel.length) console.log('\n--- integration and e2e tests (one file at a time)\n');
  results.push(await run([...base, '--test-concurrency=1', ...serial], env));
}

const sum = (k) => results.reduce((n, r) => n + (r.counts[k] ?? 0), 0);
const skipped = sum('skipped');
console.log(`\n${sum('pass')} passed, ${sum('fail') + sum('cancelled')} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(results.find((r) => r.code !== 0)?.code ?? 0);
