import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAptBackend, parsePolicy, parseUpgradable } from '../../../../controllers/package/index.ts';
import { tempDir } from '../../../support/manifests.ts';

const POLICY = `systemmanager-test-hello:
  Installed: 1.0
  Candidate: 2.0
  Version table:
     2.0 500
        500 file:/tmp/repo ./ Packages
 *** 1.0 500
        500 file:/tmp/repo ./ Packages
        100 /var/lib/dpkg/status
`;

test('parsePolicy reads the candidate and versions of an exact name, newest first', () => {
  assert.deepEqual(parsePolicy(POLICY, 'systemmanager-test-hello'), { known: true, candidate: '2.0', versions: ['2.0', '1.0'] });
  assert.deepEqual(parsePolicy('curl:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n', 'curl'), { known: true, versions: [] });
  assert.deepEqual(parsePolicy('', 'nothing-here'), { known: false, versions: [] });
});

test('parsePolicy does not take a regular-expression match for the package asked for', () => {
  // apt-cache (and apt-get) in Debian 12 read an unknown "systemmanager-test-h.llo" as a regex.
  assert.equal(parsePolicy(POLICY, 'systemmanager-test-h.llo').known, false);
  assert.equal(parsePolicy(POLICY, 'systemmanager-test-hell').known, false);
});

test('parseUpgradable reads name, installed, candidate, origin and architecture from a simulated upgrade', () => {
  const out = [
    'Reading package lists...',
    'Inst libc6 [2.36-9+deb12u4] (2.36-9+deb12u10 Debian:12.11/oldstable, Debian-Security:12/oldstable-security [amd64])',
    'Inst newpkg (1.0 Debian:12.11/oldstable [amd64])',
    'Inst systemmanager-test-hello [1.0] (2.0 localhost [all])',
    'Conf libc6 (2.36-9+deb12u10 Debian:12.11/oldstable [amd64])',
    'Remv oldpkg [0.9]',
  ].join('\n');
  assert.deepEqual(parseUpgradable(out), [
    { name: 'libc6', installed: '2.36-9+deb12u4', candidate: '2.36-9+deb12u10', origin: 'Debian:12.11/oldstable, Debian-Security:12/oldstable-security', architecture: 'amd64' },
    { name: 'systemmanager-test-hello', installed: '1.0', candidate: '2.0', origin: 'localhost', architecture: 'all' },
  ]);
});

test('the apt backend refuses bad names and versions before running anything', async () => {
  // Programs that do not exist: if anything were run, the error would be APT_MISSING instead.
  const backend = createAptBackend({ commands: { aptGet: '/nonexistent/apt-get', aptCache: '/nonexistent/apt-cache', dpkgQuery: '/nonexistent/dpkg-query' } });
  for (const name of ['-o APT::Get::Yes=true', 'foo;rm -rf /', '../x', 'Uppercase', '--purge']) {
    await assert.rejects(backend.install(name, undefined), { code: 'PACKAGE_INVALID' }, name);
    await assert.rejects(backend.remove(name), { code: 'PACKAGE_INVALID' }, name);
    await assert.rejects(backend.observe(name), { code: 'PACKAGE_INVALID' }, name);
  }
  await assert.rejects(backend.install('curl', '1.0 beta'), { code: 'PACKAGE_INVALID' });
  await assert.rejects(backend.install('curl', '-1'), { code: 'PACKAGE_INVALID' });
  await assert.rejects(backend.observe('curl'), (err: Error & { code?: string }) => err.code === 'APT_MISSING' && /not installed on this host/.test(err.message));
  assert.throws(() => createAptBackend({ lockTimeoutSec: -1 }), RangeError);
});

test('the apt backend passes names after "--" with a bounded lock wait, no recommends and --no-remove', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'argv.log');
  // A stand-in for apt-get/apt-cache/dpkg-query that records its argument vector, one per line.
  const fake = join(dir, 'fake-apt');
  await writeFile(
    fake,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> ${log}\necho --- >> ${log}\n` +
      `case "$*" in *policy*) printf 'systemmanager-test-hello:\\n  Installed: (none)\\n  Candidate: 2.0\\n  Version table:\\n     2.0 500\\n' ;; esac\nexit 0\n`,
  );
  await chmod(fake, 0o755);
  const backend = createAptBackend({ commands: { aptGet: fake, aptCache: fake, dpkgQuery: fake }, lockTimeoutSec: 7, aptOptions: ['-o', 'Dir::Etc::SourceList=/x/sources.list'] });
  await backend.install('systemmanager-test-hello', '2.0');
  const calls = (await readFile(log, 'utf8')).split('---\n').filter(Boolean).map((c) => c.trim().split('\n'));
  const install = calls.find((argv) => argv.includes('install'))!;
  assert.ok(install, 'apt-get install was run');
  assert.deepEqual(install.slice(-2), ['--', 'systemmanager-test-hello=2.0'], 'the package comes last, after "--"');
  for (const expected of ['-y', '--no-remove', 'DPkg::Lock::Timeout=7', 'APT::Install-Recommends=false', 'Dir::Etc::SourceList=/x/sources.list']) {
    assert.ok(install.includes(expected), `apt-get install got ${expected}`);
  }
  const policy = calls.find((argv) => argv.includes('policy'))!;
  assert.deepEqual(policy.slice(-3), ['policy', '--', 'systemmanager-test-hello']);
});

test('the apt backend does not pass a name apt does not know exactly to apt-get (regex and "-" suffix hazards)', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'argv.log');
  const fake = join(dir, 'fake-apt');
  // apt-cache answers with a regex expansion, as apt 2.6 does for an unknown "systemmanager.test".
  await writeFile(fake, `#!/bin/sh\necho "$*" >> ${log}\ncase "$*" in *policy*) printf 'systemmanager-test-hello:\\n  Installed: 1.0\\n  Candidate: 1.0\\n' ;; esac\nexit 0\n`);
  await chmod(fake, 0o755);
  const backend = createAptBackend({ commands: { aptGet: fake, aptCache: fake, dpkgQuery: fake } });
  await assert.rejects(backend.install('systemmanager.test', undefined), (err: Error & { code?: string }) => err.code === 'PACKAGE_NOT_AVAILABLE' && /knows no package named systemmanager.test/.test(err.message));
  await assert.rejects(backend.install('systemmanager-test-hello-', undefined), { code: 'PACKAGE_NOT_AVAILABLE' });
  await assert.rejects(backend.install('systemmanager-test-hello', '1.0+'), (err: Error & { code?: string }) => err.code === 'PACKAGE_NOT_AVAILABLE' && /offers no version 1.0\+ .*it offers: none/.test(err.message));
  await assert.rejects(backend.install('systemmanager-test-hello', '1.0-'), { code: 'PACKAGE_INVALID' });
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  assert.equal(lines.filter((l) => / install /.test(l)).length, 0, `apt-get install never ran: ${lines.join(' | ')}`);
});
