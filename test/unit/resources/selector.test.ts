import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostSelected, matchesSelector, type LabelSelector } from '../../../resources/selector.ts';

const labels = { region: 'eu', role: 'web', gpu: '' };

test('matchesSelector follows Kubernetes semantics for matchLabels and each operator', () => {
  const cases: Array<[LabelSelector, boolean]> = [
    [{}, true],
    [{ matchLabels: {} }, true],
    [{ matchLabels: { region: 'eu' } }, true],
    [{ matchLabels: { region: 'us' } }, false],
    [{ matchLabels: { zone: '' } }, false],
    [{ matchLabels: { gpu: '' } }, true],
    [{ matchExpressions: [{ key: 'role', operator: 'In', values: ['web', 'db'] }] }, true],
    [{ matchExpressions: [{ key: 'role', operator: 'In', values: ['db'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    [{ matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['db'] }] }, true],
    [{ matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['web'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, false],
    [{ matchLabels: { region: 'eu' }, matchExpressions: [{ key: 'role', operator: 'In', values: ['db'] }] }, false],
  ];
  for (const [selector, want] of cases) assert.equal(matchesSelector(selector, labels), want, JSON.stringify(selector));
});

test('inherited properties and unknown operators never match', () => {
  assert.equal(matchesSelector({ matchLabels: { toString: 'x' } }, {}), false);
  assert.equal(matchesSelector({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {}), false);
  assert.equal(matchesSelector({ matchExpressions: [{ key: 'role', operator: 'Gt' as never, values: ['1'] }] }, labels), false);
});

test('hostSelected: no selector selects every host, a malformed one selects none', () => {
  assert.equal(hostSelected({ spec: {} }, {}), true);
  assert.equal(hostSelected({}, {}), true);
  assert.equal(hostSelected({ spec: { hostSelector: { matchLabels: { role: 'web' } } } }, labels), true);
  assert.equal(hostSelected({ spec: { hostSelector: { matchLabels: { role: 'web' } } } }, {}), false);
  assert.equal(hostSelected({ spec: { hostSelector: 'role=web' } }, labels), false);
  assert.equal(hostSelected({ spec: { hostSelector: null } }, labels), false);
  assert.equal(hostSelected({ spec: { hostSelector: [] } }, labels), false);
});
