// The http probe's guards that need no server: regex matching is bounded in time, and URLs the
// schema would refuse are refused again here without a request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchWithTimeLimit, probeHttp } from '../../../../controllers/probe/index.ts';
import { ResourceStore } from '../../../../resources/store.ts';

test('matchWithTimeLimit matches ordinary patterns', () => {
  assert.equal(matchWithTimeLimit(/"status":\s*"ok"/, '{"status": "ok"}'), true);
  assert.equal(matchWithTimeLimit(/"status":\s*"ok"/, '{"status": "down"}'), false);
  // A global regex keeps lastIndex between calls; the probe must not inherit that state.
  const g = /ok/g;
  assert.equal(matchWithTimeLimit(g, 'ok'), true);
  assert.equal(matchWithTimeLimit(g, 'ok'), true);
});

test('matchWithTimeLimit stops a catastrophic backtracking pattern instead of hanging', () => {
  assert.equal(matchWithTimeLimit(/^(a+)+$/, `${'a'.repeat(64)}!`, 50), 'timeout');
  // The shared context is clean afterwards: the next match works.
  assert.equal(matchWithTimeLimit(/b/, 'abc'), true);
});

test('probeHttp refuses a scheme other than http and https without sending anything', async () => {
  const ctx = { signal: new AbortController().signal, timeoutMs: 1000, store: await ResourceStore.open() };
  assert.deepEqual(await probeHttp({ url: 'ftp://127.0.0.1/x' }, ctx), { success: false, message: 'unsupported URL scheme ftp: only http and https are probed' });
  assert.deepEqual(await probeHttp({ url: 'not a url' }, ctx), { success: false, message: 'invalid URL "not a url"' });
  assert.match((await probeHttp({ url: 'http://127.0.0.1/', bodyRegex: '(' }, ctx)).message, /^bodyRegex is not a valid regular expression/);
});
