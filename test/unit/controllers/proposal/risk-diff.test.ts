import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeRisk, editManifestText, proposalRisk, renderDiff, resourceDiff } from '../../../../controllers/proposal/index.ts';
import { container, WEB_YAML } from './fixtures.ts';

test('risk follows the documented table', () => {
  const token = { apiVersion: 'systemmanager.io/v1alpha1', kind: 'AccessToken' as const, metadata: { name: 't' }, spec: {} };
  assert.equal(changeRisk({ operation: 'create', kind: 'AccessToken', object: token }), 'critical');
  assert.equal(changeRisk({ operation: 'delete', kind: 'AccessToken' }), 'critical');
  assert.equal(changeRisk({ operation: 'update', kind: 'Container', object: container('w', { privileged: true }) }), 'critical');
  assert.equal(changeRisk({ operation: 'update', kind: 'Container', object: container('w', { capAdd: ['NET_ADMIN'] }) }), 'critical');
  assert.equal(changeRisk({ operation: 'update', kind: 'Container', object: container('w', { network: 'host' }) }), 'critical');
  assert.equal(changeRisk({ operation: 'update', kind: 'Container', object: container('w', { volumes: [{ type: 'bind', source: '/var/run/docker.sock', target: '/s' }] }) }), 'critical');
  assert.equal(changeRisk({ operation: 'delete', kind: 'Container' }), 'high');
  assert.equal(changeRisk({ operation: 'update', kind: 'Container', object: container('w', { network: 'none' }) }), 'moderate');
  assert.equal(changeRisk({ operation: 'create', kind: 'Package' }), 'moderate');
  assert.equal(changeRisk({ operation: 'create', kind: 'HealthProbe' }), 'low');
  assert.equal(changeRisk({ operation: 'update', kind: 'OutputPreference' }), 'low');
  assert.equal(proposalRisk([{ operation: 'create', kind: 'HealthProbe' }, { operation: 'delete', kind: 'Package' }]), 'high');
});

test('the diff is stored plain and rendered with ANSI colors only on request', () => {
  const diff = resourceDiff('web.yaml', container('web'), container('web', { state: 'stopped' }));
  assert.match(diff, /^\+  state: stopped$/m);
  assert.ok(!diff.includes('\u001b['));
  const colored = renderDiff({ status: { diff } }, { color: true });
  assert.match(colored, /\u001b\[32m\+  state: stopped\u001b\[0m/);
  assert.match(colored, /\u001b\[1m--- a\/web\.yaml\u001b\[0m/);
  assert.equal(renderDiff({ status: { diff } }, { color: false }), diff);
});

test('editing a file keeps comments on untouched lines and refuses an edit that would not load', () => {
  const out = editManifestText(WEB_YAML, [{ operation: 'update', kind: 'Container', name: 'web', file: 'web.yaml', object: container('web', { state: 'stopped' }) }], 'web.yaml')!;
  assert.match(out, /^# the web server$/m);
  assert.match(out, /image: systemmanager-test\/busybox:1 # pinned/);
  assert.match(out, /state: stopped/);
  assert.equal(editManifestText(WEB_YAML, [{ operation: 'delete', kind: 'Container', name: 'web', file: 'web.yaml' }], 'web.yaml'), undefined, 'the last document gone: the file goes');
  assert.throws(() => editManifestText('a: [1,\n', [{ operation: 'delete', kind: 'Container', name: 'web', file: 'x.yaml' }], 'x.yaml'), { code: 'APPLY_FAILED' });
});
