#!/usr/bin/env node
// Generates TypeScript types from the JSON Schemas (schemas/ is the single source of truth) into
// resources/generated/ (not committed; `npm ci` runs this through "prepare"). The controllers'
// narrow spec views are checked against these types at type-check time (controllers/schema-conformance.ts).
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let compileFromFile;
try {
  ({ compileFromFile } = await import('json-schema-to-typescript'));
} catch {
  // A production install (--omit=dev) has no generator and needs no types: nothing to do.
  console.log('gen-types: json-schema-to-typescript is not installed; skipping (only type-checking needs the generated types)');
  process.exit(0);
}
const schemas = join(root, 'schemas');
const out = join(root, 'resources', 'generated');
await mkdir(out, { recursive: true });
const files = (await readdir(schemas)).filter((f) => f.endsWith('.schema.json') && f !== 'defs.schema.json').sort();
for (const file of files) {
  const ts = await compileFromFile(join(schemas, file), {
    cwd: schemas,
    bannerComment: `// Generated from schemas/${file} by scripts/gen-types.mjs. Do not edit; run npm run gen:types.`,
    additionalProperties: false,
    declareExternallyReferenced: true,
    unreachableDefinitions: true,
    format: false,
  });
  await writeFile(join(out, file.replace('.schema.json', '.ts')), ts);
}
console.log(`gen-types: ${files.length} kinds -> ${out}`);
