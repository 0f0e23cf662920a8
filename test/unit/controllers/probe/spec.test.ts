// The HealthProbe spec: the schema refuses what no probe can run, and the controller applies the
// schema's defaults itself (the store keeps manifests as written).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMEOUT_MS, MIN_INTERVAL_MS, resolveProbe } from '../../../../controllers/probe/index.ts';
import { TerminalError } from '../../../../controllers/runtime/index.ts';
import { validateResource } from '../../../../resources/validation.ts';

function probe(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'systemmanager.io/v1alpha1', kind: 'HealthProbe', metadata: { name: 'p' }, spec };
}

function messages(value: unknown): string {
  const outcome = validateResource(value);
  assert.equal(outcome.ok, false, 'the schema refuses it');
  return JSON.stringify(outcome);
}

test('the schema refuses an ftp:// URL, naming the url field', () => {
  const text = messages(probe({ http: { url: 'ftp://127.0.0.1/file' } }));
  assert.match(text, /\/spec\/http\/url/);
  assert.match(text, /does not match http:\/\/ or https:\/\//);
});

test('the schema refuses two probe types at once and none at all', () => {
  messages(probe({ http: { url: 'http://127.0.0.1/' }, tcp: { host: '127.0.0.1', port: 80 } }));
  messages(probe({ interval: '10s' }));
});

test('the schema refuses a shell string for exec, a bad duration and a zero threshold', () => {
  messages(probe({ exec: { command: '/bin/true' } }));
  messages(probe({ tcp: { host: '127.0.0.1', port: 80 }, interval: '10' }));
  messages(probe({ tcp: { host: '127.0.0.1', port: 80 }, failureThreshold: 0 }));
  messages(probe({ tcp: { host: '-oProxyCommand=x', port: 80 } }));
});

test('a valid probe passes the schema', () => {
  assert.equal(validateResource(probe({ http: { url: 'https://127.0.0.1:8443/healthz', expectStatus: [200, 204] }, interval: '1s' })).ok, true);
});

test('resolveProbe applies the schema defaults: 30s interval, 5s timeout, thresholds 3 and 1', () => {
  const r = resolveProbe({ tcp: { host: '127.0.0.1', port: 1 } });
  assert.deepEqual([r.type, r.intervalMs, r.timeoutMs, r.failureThreshold, r.successThreshold], ['tcp', 30_000, 5_000, 3, 1]);
  const s = resolveProbe({ exec: { command: ['/bin/true'] }, interval: '1m30s', timeout: '250ms', failureThreshold: 7, successThreshold: 2 });
  assert.deepEqual([s.type, s.intervalMs, s.timeoutMs, s.failureThreshold, s.successThreshold], ['exec', 90_000, 250, 7, 2]);
});

test('resolveProbe keeps a tiny interval from spinning and caps the timeout', () => {
  const r = resolveProbe({ tcp: { host: '127.0.0.1', port: 1 }, interval: '0s', timeout: '2h' });
  assert.equal(r.intervalMs, MIN_INTERVAL_MS);
  assert.equal(r.timeoutMs, MAX_TIMEOUT_MS);
});

test('resolveProbe throws a TerminalError (the object is Stalled) for a spec no probe can run', () => {
  assert.throws(() => resolveProbe({}), (err: unknown) => err instanceof TerminalError && /must set exactly one of http, tcp, dns, tls, exec, container/.test((err as Error).message));
  assert.throws(() => resolveProbe({ tcp: { host: 'a', port: 1 }, dns: { name: 'a' } }), /found tcp, dns/);
  assert.throws(() => resolveProbe({ tcp: { host: 'a', port: 1 }, interval: 'soon' }), TerminalError);
});
