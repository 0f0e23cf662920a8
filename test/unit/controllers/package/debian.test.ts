import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPackageName, checkPackageVersion, compareDebianVersions } from '../../../../controllers/package/index.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { validateResource } from '../../../../resources/validation.ts';

// Each row was checked with `dpkg --compare-versions` on Debian 12.
const ORDERED: [string, '<' | '=' | '>', string][] = [
  ['1.0', '>', '1.0~rc1'],
  ['1.0', '<', '1.0-1'],
  ['1:0.9', '>', '2.0'],
  ['1.0a', '>', '1.0'],
  ['1.0+b1', '>', '1.0'],
  ['1.0~~', '<', '1.0~'],
  ['1.10', '>', '1.9'],
  ['1.0-1', '<', '1.0-1ubuntu1'],
  ['2.36-9+deb12u4', '<', '2.36-9+deb12u10'],
  ['1.001', '=', '1.1'],
  ['0:1.0', '=', '1.0'],
  ['1.0-a', '<', '1.0-+'],
];

test('compareDebianVersions orders versions as dpkg does', () => {
  for (const [a, op, b] of ORDERED) {
    const got = Math.sign(compareDebianVersions(a, b));
    assert.equal(got, op === '<' ? -1 : op === '=' ? 0 : 1, `${a} ${op} ${b}`);
    assert.equal(Math.sign(compareDebianVersions(b, a)), 0 - got || 0, `${b} vs ${a} is the mirror image`);
  }
});

const BAD_NAMES = ['-o APT::Get::Yes=true', '-oAPT::Get::Yes=true', 'foo;rm -rf /', '../x', 'Foo', 'UPPER', 'a', '', 'foo bar', 'foo\nbar', 'x'.repeat(129), 'pkg=1.0', 'pkg:amd64', '?exact-name(x)', '.hidden'];
const BAD_VERSIONS = ['2.0-', '1.0 beta', '1.0;ls', '-1', '', ' 1.0', '1.0\n', '$(id)', '1.0|true', 'x'.repeat(129)];

// apt-get would read "pkg=2.0-" as "remove pkg": the backend refuses it, and since the schema now refuses
// a trailing '-' too (an empty Debian revision), no version is left that only the backend stops.
const BACKEND_ONLY_BAD_VERSIONS: string[] = [];

test('checkPackageName and checkPackageVersion refuse what Debian forbids, with a PACKAGE_INVALID error naming the value', () => {
  for (const name of BAD_NAMES) {
    assert.throws(() => checkPackageName(name), (err: Error & { code?: string }) => err.code === 'PACKAGE_INVALID' && err.message.includes('invalid package name'), JSON.stringify(name));
  }
  for (const version of [...BAD_VERSIONS, ...BACKEND_ONLY_BAD_VERSIONS]) {
    assert.throws(() => checkPackageVersion(version), (err: Error & { code?: string }) => err.code === 'PACKAGE_INVALID' && err.message.includes('invalid package version'), JSON.stringify(version));
  }
  for (const name of ['libstdc++6', 'systemmanager-test-hello', 'python3.11', 'g++', '0ad']) checkPackageName(name);
  for (const version of ['1:2.3-4~rc1', '2.36-9+deb12u4', '1.0', '20240101']) checkPackageVersion(version);
  assert.throws(() => checkPackageName(42), { code: 'PACKAGE_INVALID' });
});

test('the Package schema refuses the same bad names and versions, so they never reach the store from a manifest', () => {
  const pkg = (spec: Record<string, unknown>) => ({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: 'p' }, spec });
  for (const name of BAD_NAMES) {
    const outcome = validateResource(pkg({ name }));
    assert.equal(outcome.ok, false, `schema accepted name ${JSON.stringify(name)}`);
  }
  for (const version of BAD_VERSIONS) {
    const outcome = validateResource(pkg({ name: 'curl', version }));
    assert.equal(outcome.ok, false, `schema accepted version ${JSON.stringify(version)}`);
  }
  assert.equal(validateResource(pkg({ name: 'curl', version: '7.88.1-10+deb12u5' })).ok, true);
  for (const version of BACKEND_ONLY_BAD_VERSIONS) {
    assert.equal(validateResource(pkg({ name: 'curl', version })).ok, true, `the schema accepts ${version}: only the backend stands in the way`);
  }
  assert.equal(validateResource(pkg({ name: 'curl', version: '1.0', state: 'latest' })).ok, false, 'a pin only goes with state present');
});
