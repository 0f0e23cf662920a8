import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ERROR_CODES, ManifestError, formatWhere } from '../../../resources/errors.ts';

test('every error code is documented in docs/errors.md, and nothing undocumented is listed there', async () => {
  const doc = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => `${m[1]} ${m[2]}`));
  const declared = new Set(Object.entries(ERROR_CODES).map(([code, { status }]) => `${code} ${status}`));
  assert.deepEqual([...declared].filter((c) => !documented.has(c)), [], 'codes missing from docs/errors.md (or with another status)');
  assert.deepEqual([...documented].filter((c) => !declared.has(c)), [], 'codes in docs/errors.md that the code does not have');
});

test('manifest errors start with where they are', () => {
  const e = new ManifestError('SCHEMA_INVALID', { file: 'a.yaml', line: 3, column: 5, resource: 'Container/web', pointer: '/spec/x' }, 'unknown field');
  assert.equal(e.message, 'a.yaml:3:5: Container/web: /spec/x: unknown field');
  assert.equal(formatWhere({ file: 'a.yaml', document: 1 }), 'a.yaml: document 2: ');
  assert.deepEqual(e.toJSON().pointer, '/spec/x');
  assert.equal(e.httpStatus, 422);
});
