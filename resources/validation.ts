// Schema validation: one shared Ajv (JSON Schema 2020-12) instance loaded with every schema in
// schemas/, each compiled once. Errors are turned into short, located messages in the form users
// know from kubectl: `/spec/ports/0/hostPort: must be <= 65535`.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction, type AnySchema } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { API_VERSION, KINDS, KIND_NAMES, isKindName, type KindName } from './kinds.ts';
import type { DesiredResource } from './types.ts';

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/** SCHEMAS_DIR is where the JSON Schemas live. */
export const SCHEMAS_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));

/** ValidationIssue is one thing wrong with a document, at a JSON pointer. */
export interface ValidationIssue {
  pointer: string;
  message: string;
}

/** ValidationOutcome is the result of validating one document. */
export type ValidationOutcome =
  | { ok: true; resource: DesiredResource; kind: KindName; name: string }
  | { ok: false; code: 'SCHEMA_INVALID' | 'UNKNOWN_KIND'; kind?: string; name?: string; issues: ValidationIssue[] };

const MAX_ISSUES = 20;

let shared: { ajv: Ajv2020; byKind: Map<KindName, ValidateFunction> } | undefined;

/** schemaRegistry returns the shared Ajv instance with every schema loaded and each kind compiled once. */
export function schemaRegistry(): { ajv: Ajv2020; byKind: Map<KindName, ValidateFunction> } {
  if (shared) return shared;
  const ajv = new Ajv2020({ strict: true, allErrors: true, verbose: true, allowUnionTypes: true });
  addFormats(ajv);
  for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json')).sort()) {
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as AnySchema);
  }
  const byKind = new Map<KindName, ValidateFunction>();
  for (const kind of KIND_NAMES) {
    const validate = ajv.getSchema(KINDS[kind].schemaId);
    if (!validate) throw new Error(`schema ${KINDS[kind].schemaId} for kind ${kind} is missing from ${SCHEMAS_DIR}`);
    byKind.set(kind, validate);
  }
  shared = { ajv, byKind };
  return shared;
}

/** kindSchema returns the raw JSON Schema of a kind (or of a fragment such as `#/$defs/spec`). */
export function kindSchema(kind: KindName, fragment = ''): AnySchema {
  const { ajv } = schemaRegistry();
  const found = ajv.getSchema(`${KINDS[kind].schemaId}${fragment ? `#${fragment}` : ''}`);
  if (!found) throw new Error(`no schema for ${kind}${fragment}`);
  return found.schema as AnySchema;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a sequence';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/**
 * validateResource checks one document: a mapping, a known apiVersion and kind, and the kind's schema.
 * It never throws for bad input.
 */
export function validateResource(value: unknown): ValidationOutcome {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, code: 'SCHEMA_INVALID', issues: [{ pointer: '', message: `a resource must be a mapping, got ${typeName(value)}` }] };
  }
  const doc = value as Record<string, unknown>;
  const meta = doc.metadata;
  const name = meta && typeof meta === 'object' && typeof (meta as Record<string, unknown>).name === 'string' ? ((meta as Record<string, unknown>).name as string) : undefined;
  const kindValue = doc.kind;
  const kind = typeof kindValue === 'string' ? kindValue : undefined;
  if (doc.apiVersion !== API_VERSION) {
    return {
      ok: false,
      code: 'UNKNOWN_KIND',
      kind,
      name,
      issues: [
        {
          pointer: '/apiVersion',
          message: doc.apiVersion === undefined ? `required field is missing (expected "${API_VERSION}")` : `unknown apiVersion ${JSON.stringify(doc.apiVersion)} (expected "${API_VERSION}")`,
        },
      ],
    };
  }
  if (!isKindName(kindValue)) {
    return {
      ok: false,
      code: 'UNKNOWN_KIND',
      kind,
      name,
      issues: [{ pointer: '/kind', message: kindValue === undefined ? 'required field is missing' : `unknown kind ${JSON.stringify(kindValue)} (known kinds: ${KIND_NAMES.join(', ')})` }],
    };
  }
  const validate = schemaRegistry().byKind.get(kindValue)!;
  if (validate(doc)) {
    return { ok: true, resource: doc as unknown as DesiredResource, kind: kindValue, name: name! };
  }
  return { ok: false, code: 'SCHEMA_INVALID', kind: kindValue, name, issues: describeAjvErrors(validate.errors ?? []) };
}

/** validateAgainst validates a value against any loaded schema id (for tool inputs and spec fragments). */
export function validateAgainst(schemaId: string, value: unknown): ValidationIssue[] {
  const validate = schemaRegistry().ajv.getSchema(schemaId);
  if (!validate) throw new Error(`no schema ${schemaId}`);
  return validate(value) ? [] : describeAjvErrors(validate.errors ?? []);
}

/** describeAjvErrors turns ajv's errors into short located messages, most useful first, deduplicated and capped. */
export function describeAjvErrors(errors: readonly ErrorObject[]): ValidationIssue[] {
  // A failed oneOf/anyOf reports every branch's errors too; when a branch-specific error exists at a
  // deeper path it is more useful than the summary, so keep summaries only when nothing else is said.
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  // A oneOf whose branches are "exactly one of these fields" is reported as one sentence; the
  // branch errors under it ("must have required property 'http'" six times) add nothing.
  const choices = errors.filter((e) => e.keyword === 'oneOf' && fieldChoice(e.schema) !== undefined);
  const underChoice = (e: ErrorObject) => choices.some((c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`));
  const ordered = [...errors].filter((e) => !underChoice(e)).sort((a, b) => rank(a) - rank(b));
  for (const e of ordered) {
    const issue = describeOne(e);
    if (!issue) continue;
    const key = `${issue.pointer}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
    if (issues.length >= MAX_ISSUES) break;
  }
  return issues;
}

function rank(e: ErrorObject): number {
  if (e.keyword === 'if') return 3;
  if (e.keyword === 'oneOf' || e.keyword === 'anyOf') return 2;
  return 1;
}

function describeOne(e: ErrorObject): ValidationIssue | undefined {
  const at = e.instancePath;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { pointer: `${at}/${escapePointer(String(params.additionalProperty))}`, message: 'unknown field' };
    case 'unevaluatedProperties':
      return { pointer: `${at}/${escapePointer(String(params.unevaluatedProperty))}`, message: 'unknown field' };
    case 'required':
      return { pointer: `${at}/${escapePointer(String(params.missingProperty))}`, message: 'required field is missing' };
    case 'enum':
      return { pointer: at, message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { pointer: at, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'pattern': {
      const hint = describeSchema(e.parentSchema);
      return { pointer: at, message: `${JSON.stringify(e.data)} does not match ${hint ?? `the pattern ${String(params.pattern)}`}` };
    }
    case 'format':
      return { pointer: at, message: `${JSON.stringify(e.data)} is not a valid ${String(params.format)}` };
    case 'if':
      return undefined; // the failing "then" branch is reported on its own
    case 'false schema':
      return { pointer: at, message: 'this field is not allowed here' };
    case 'propertyNames':
      return { pointer: `${at}/${escapePointer(String(params.propertyName))}`, message: 'invalid key' };
    case 'oneOf': {
      const fields = fieldChoice(e.schema);
      if (fields) {
        const set = ((params.passingSchemas as number[] | null) ?? []).map((i) => fields[i]);
        return { pointer: at, message: `must set exactly one of ${fields.join(', ')}${set.length > 1 ? ` (found ${set.join(', ')})` : ' (found none)'}` };
      }
      const hint = describeSchema(e.parentSchema);
      return { pointer: at, message: hint ? `must match exactly one form: ${hint}` : (e.message ?? 'must match exactly one schema') };
    }
    default:
      return { pointer: at, message: e.message ?? `fails ${e.keyword}` };
  }
}

/** fieldChoice recognises a oneOf whose every branch requires exactly one field, and names the fields. */
function fieldChoice(branches: unknown): string[] | undefined {
  if (!Array.isArray(branches) || branches.length < 2) return undefined;
  const fields = branches.map((b) => {
    const required = (b as { required?: unknown }).required;
    return Array.isArray(required) && required.length === 1 && typeof required[0] === 'string' ? required[0] : undefined;
  });
  return fields.every((f) => f !== undefined) ? (fields as string[]) : undefined;
}

function describeSchema(schema: unknown): string | undefined {
  if (schema && typeof schema === 'object') {
    const s = schema as { description?: unknown; title?: unknown };
    if (typeof s.description === 'string') return s.description.replace(/\.$/, '');
    if (typeof s.title === 'string') return s.title;
  }
  return undefined;
}

function escapePointer(seg: string): string {
  return seg.replace(/~/g, '~0').replace(/\//g, '~1');
}
