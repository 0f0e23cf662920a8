// Turning the kind schemas of schemas/ into self-contained JSON Schemas for MCP clients. The files
// reference each other (`defs.schema.json#/$defs/name`); a client only ever sees one tool's schema,
// so every reference is rewritten to a local `#/$defs/<file>.<def>` and the referenced definitions
// are copied in. The result carries no `$id` and no `$schema`, so it compiles both in the server's
// shared Ajv 2020 instance (next to the originals) and in a client's draft-07 Ajv.

import { KINDS, type KindName } from '../../resources/kinds.ts';
import { schemaRegistry } from '../../resources/validation.ts';

/** JsonSchema is a JSON Schema object as tools publish it. */
export type JsonSchema = Record<string, unknown>;

const SCHEMA_BASE = 'https://systemmanager.io/schemas/v1alpha1/';

interface Target {
  file: string;
  def: string | undefined;
}

function parseRef(ref: string, baseFile: string): Target {
  const hash = ref.indexOf('#');
  const filePart = hash < 0 ? ref : ref.slice(0, hash);
  const pointer = hash < 0 ? '' : ref.slice(hash + 1);
  const file = filePart === '' ? baseFile : new URL(filePart, `${SCHEMA_BASE}${baseFile}`).href.slice(SCHEMA_BASE.length);
  if (pointer === '') return { file, def: undefined };
  const m = /^\/\$defs\/([^/]+)$/.exec(pointer);
  if (!m) throw new Error(`cannot bundle $ref ${ref} in ${baseFile}: only #/$defs/<name> pointers are supported`);
  return { file, def: m[1] };
}

function localName(t: Target): string {
  const stem = t.file.replace(/\.schema\.json$/, '');
  return t.def ? `${stem}.${t.def}` : stem;
}

function rawFile(file: string): JsonSchema {
  const found = schemaRegistry().ajv.getSchema(`${SCHEMA_BASE}${file}`);
  if (!found) throw new Error(`no schema ${file} is loaded`);
  return found.schema as JsonSchema;
}

function lookup(t: Target): JsonSchema {
  const root = rawFile(t.file);
  if (!t.def) return root;
  const def = (root.$defs as Record<string, JsonSchema> | undefined)?.[t.def];
  if (!def) throw new Error(`schema ${t.file} has no $defs/${t.def}`);
  return def;
}

/**
 * bundleSchema returns the schema at `file` (a file in schemas/, e.g. `container.schema.json`) and
 * definition `def` (or the whole file) with every $ref made local, ready to publish.
 */
export function bundleSchema(file: string, def?: string): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const pending: Target[] = [];
  const rewrite = (node: unknown, baseFile: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => rewrite(n, baseFile));
    if (!node || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === '$id' || k === '$schema' || k === '$defs') continue;
      if (k === '$ref' && typeof v === 'string') {
        const target = parseRef(v, baseFile);
        const name = localName(target);
        if (!(name in defs)) {
          defs[name] = {}; // placeholder: breaks cycles
          pending.push(target);
        }
        out.$ref = `#/$defs/${name}`;
      } else {
        out[k] = rewrite(v, baseFile);
      }
    }
    return out;
  };
  const root = rewrite(lookup({ file, def }), file) as JsonSchema;
  while (pending.length) {
    const t = pending.shift()!;
    defs[localName(t)] = rewrite(lookup(t), t.file) as JsonSchema;
  }
  return Object.keys(defs).length ? { ...root, $defs: defs } : root;
}

/** kindFile is the schemas/ file name of a kind. */
export function kindFile(kind: KindName): string {
  return KINDS[kind].schemaId.slice(SCHEMA_BASE.length);
}

/**
 * desiredResourceSchema is a kind's schema as a writer submits it: the whole resource, without the
 * server-written status (a proposal carries desired state only).
 */
export function desiredResourceSchema(kind: KindName): JsonSchema {
  const bundled = bundleSchema(kindFile(kind));
  const properties = { ...(bundled.properties as Record<string, unknown>) };
  delete properties.status;
  const defs = { ...(bundled.$defs as Record<string, JsonSchema>) };
  const statusDef = `${kindFile(kind).replace(/\.schema\.json$/, '')}.status`;
  // The status definition was reached only through the property just removed; drop it unless still referenced.
  delete defs[statusDef];
  if (JSON.stringify({ properties, defs }).includes(`"#/$defs/${statusDef}"`)) return { ...bundled, properties };
  return { ...bundled, properties, $defs: defs };
}

/**
 * hoistDefs moves every nested `$defs` (of bundled schemas placed inside a tool's input schema) to
 * the root, where their `#/$defs/...` references resolve. Bundled names are file-qualified, so two
 * copies of one name are the same definition.
 */
export function hoistDefs(schema: JsonSchema): JsonSchema {
  const defs: Record<string, unknown> = {};
  const walk = (node: unknown, _root: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, false));
    if (!node || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === '$defs' && v && typeof v === 'object') {
        for (const [name, def] of Object.entries(v as Record<string, unknown>)) defs[name] ??= walk(def, false);
      } else {
        out[k] = walk(v, false);
      }
    }
    return out;
  };
  const body = walk(schema, true) as JsonSchema;
  return Object.keys(defs).length ? { ...body, $defs: defs } : body;
}
