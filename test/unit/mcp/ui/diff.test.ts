// The approvals page's diff reader, fed diffs made the way the proposal service makes them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTwoFilesPatch } from 'diff';
import { resourceDiff } from '../../../../controllers/proposal/diff.ts';
import { parseDiff } from '../../../../mcp/ui/diff.ts';
import type { DesiredResource } from '../../../../resources/types.ts';

function preference(name: string, format: string): DesiredResource {
  return { apiVersion: 'systemmanager.io/v1alpha1', kind: 'OutputPreference', metadata: { name }, spec: { format } } as DesiredResource;
}

test('a proposal diff of several resources splits into one file per resource, named by its path', () => {
  const text = [
    resourceDiff('outputpreferences/compact.yaml', preference('compact', 'toon'), preference('compact', 'json')),
    resourceDiff('outputpreferences/new.yaml', undefined, preference('new', 'json')),
    resourceDiff('outputpreferences/old.yaml', preference('old', 'toon'), undefined),
  ].join('');
  const files = parseDiff(text);
  assert.deepEqual(files.map((f) => f.path), ['outputpreferences/compact.yaml', 'outputpreferences/new.yaml', 'outputpreferences/old.yaml']);
  const [update, create, remove] = files;
  assert.deepEqual(update!.lines.filter((l) => l.kind === 'del').map((l) => l.text), ['-  format: toon']);
  assert.deepEqual(update!.lines.filter((l) => l.kind === 'add').map((l) => l.text), ['+  format: json']);
  assert.ok(update!.lines.some((l) => l.kind === 'ctx' && l.text === ' spec:'));
  assert.equal(update!.lines[0]!.kind, 'hunk');
  assert.ok(create!.lines.filter((l) => l.kind !== 'hunk').every((l) => l.kind === 'add'));
  assert.ok(remove!.lines.filter((l) => l.kind !== 'hunk').every((l) => l.kind === 'del'));
});

test('removed and added lines that look like file headers stay lines of their file', () => {
  const text = createTwoFilesPatch('a/x.yaml', 'b/x.yaml', '-- old\nkeep\n', '++ new\nkeep\n') + createTwoFilesPatch('a/y.yaml', 'b/y.yaml', 'a\n', 'b\n');
  const files = parseDiff(text);
  assert.deepEqual(files.map((f) => f.path), ['x.yaml', 'y.yaml']);
  assert.deepEqual(
    files[0]!.lines.filter((l) => l.kind !== 'hunk').map((l) => [l.kind, l.text]),
    [['del', '--- old'], ['add', '+++ new'], ['ctx', ' keep']],
  );
});

test('a missing final newline is a note, not a change, and an empty diff has no files', () => {
  const files = parseDiff(createTwoFilesPatch('a/z', 'b/z', 'one', 'two'));
  assert.deepEqual(files[0]!.lines.map((l) => l.kind), ['hunk', 'del', 'meta', 'add', 'meta']);
  assert.deepEqual(parseDiff(''), []);
});

test('text that is not a diff is still shown, as notes', () => {
  const files = parseDiff('<img src=x onerror=alert(1)>\nno diff here');
  assert.deepEqual(files, [{ path: '', lines: [{ kind: 'meta', text: '<img src=x onerror=alert(1)>' }, { kind: 'meta', text: 'no diff here' }] }]);
});
