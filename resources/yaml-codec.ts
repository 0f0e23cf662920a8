// The safe YAML codec: the only way manifests are read or written. It accepts plain YAML 1.2 data
// (the core schema) and refuses everything that has been used to attack YAML loaders: custom tags,
// merge keys, prototype keys, alias bombs, huge inputs, binary files. Every error carries the file,
// line, column and document index so a user can go straight to the problem.

import { constants as fsConstants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import {
  LineCounter,
  parseAllDocuments,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  stringify,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { ManifestError } from './errors.ts';

/** CodecLimits bounds what one file may cost to load. */
export interface CodecLimits {
  /** maxFileBytes: larger files are refused before they are parsed. */
  maxFileBytes: number;
  /** maxDocuments in one file. */
  maxDocuments: number;
  /** maxAliasCount: aliases resolved per document (alias bombs stop here). */
  maxAliasCount: number;
  /** maxDepth of nested collections. */
  maxDepth: number;
}

/** DEFAULT_LIMITS are generous for real manifests and small enough that no file can exhaust the server. */
export const DEFAULT_LIMITS: CodecLimits = Object.freeze({
  maxFileBytes: 4 * 1024 * 1024,
  maxDocuments: 1000,
  maxAliasCount: 64,
  maxDepth: 64,
});

/** ParsedDocument is one non-empty YAML document of a file, as plain data. */
export interface ParsedDocument {
  /** index is the 0-based position of the document in its file (empty documents count too). */
  index: number;
  value: unknown;
  /** line (1-based) where the document's content starts. */
  line: number;
  /** lineOf maps a JSON pointer into the document to the 1-based line that holds it (or its nearest parent). */
  lineOf(pointer: string): { line: number; column: number };
}

/** ParseResult holds what parsed and what did not; a file with any error should be treated as invalid. */
export interface ParseResult {
  documents: ParsedDocument[];
  errors: ManifestError[];
}

const FORBIDDEN_KEYS = new Set(['__proto__']);

/**
 * parseManifestText parses a multi-document YAML text safely. It never throws for bad input: every
 * problem comes back in `errors`.
 */
export function parseManifestText(text: string, file: string, limits: CodecLimits = DEFAULT_LIMITS): ParseResult {
  const errors: ManifestError[] = [];
  const documents: ParsedDocument[] = [];
  if (Buffer.byteLength(text, 'utf8') > limits.maxFileBytes) {
    errors.push(new ManifestError('FILE_UNREADABLE', { file }, `file is larger than the ${limits.maxFileBytes}-byte limit`));
    return { documents, errors };
  }
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter,
      schema: 'core',
      customTags: [],
      merge: false,
      uniqueKeys: true,
      strict: true,
      prettyErrors: false,
      keepSourceTokens: false,
    }) as Document.Parsed[];
  } catch (cause) {
    errors.push(new ManifestError('YAML_INVALID', { file }, `cannot parse YAML: ${(cause as Error).message}`, { cause }));
    return { documents, errors };
  }
  if (!Array.isArray(docs)) docs = [docs];
  if (docs.length > limits.maxDocuments) {
    errors.push(new ManifestError('YAML_INVALID', { file }, `file has ${docs.length} documents; the limit is ${limits.maxDocuments}`));
    return { documents, errors };
  }
  const at = (offset: number | undefined) => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col };
  };

  docs.forEach((doc, index) => {
    const before = errors.length;
    for (const problem of [...doc.errors, ...doc.warnings]) {
      errors.push(new ManifestError('YAML_INVALID', { file, ...at(problem.pos[0]), document: index }, describeYamlProblem(problem.code, problem.message)));
    }
    if (errors.length > before) return;
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return; // empty document, as kubectl skips it

    // Walk the tree once for the things the yaml library allows but we refuse.
    const refuse = (node: YamlNode | null | undefined, detail: string) =>
      errors.push(new ManifestError('YAML_INVALID', { file, ...at(node?.range?.[0]), document: index }, detail));
    const walk = (node: unknown, depth: number): void => {
      if (!node || typeof node !== 'object' || isAlias(node)) return;
      const n = node as YamlNode;
      if (n.tag && !n.tag.startsWith('tag:yaml.org,2002:')) refuse(n, `custom tag ${n.tag} is not allowed`);
      if (depth > limits.maxDepth) {
        refuse(n, `nesting is deeper than ${limits.maxDepth} levels`);
        return;
      }
      if (isMap(n)) {
        for (const pair of n.items) {
          const keyNode = pair.key as YamlNode | null;
          const key = isScalar(keyNode) ? keyNode.value : undefined;
          if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) refuse(keyNode, `the key "${key}" is not allowed`);
          else if (key === '<<') refuse(keyNode, 'merge keys (<<) are not supported; write the fields out');
          else if (keyNode !== null && !isScalar(keyNode)) refuse(keyNode, 'mapping keys must be plain scalars');
          if (isScalar(keyNode) && keyNode.tag && !keyNode.tag.startsWith('tag:yaml.org,2002:')) refuse(keyNode, `custom tag ${keyNode.tag} is not allowed`);
          walk(pair.value, depth + 1);
        }
      } else if (isSeq(n)) {
        for (const item of n.items) walk(item, depth + 1);
      }
    };
    walk(doc.contents, 0);
    if (errors.length > before) return;

    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (cause) {
      const message = (cause as Error).message;
      const detail = /alias/i.test(message)
        ? `too many aliases (limit ${limits.maxAliasCount}): the document looks like an alias bomb`
        : `cannot convert YAML: ${message}`;
      errors.push(new ManifestError('YAML_INVALID', { file, ...at(doc.contents?.range?.[0]), document: index }, detail, { cause }));
      return;
    }
    const contents = doc.contents as YamlNode;
    documents.push({
      index,
      value,
      line: at(contents.range?.[0]).line,
      lineOf: (pointer) => at(offsetOfPointer(contents, pointer)),
    });
  });
  return { documents, errors };
}

function describeYamlProblem(code: string, message: string): string {
  const first = message.split('\n')[0] ?? message;
  switch (code) {
    case 'DUPLICATE_KEY':
      return `duplicate key: ${first}`;
    case 'TAG_RESOLVE_FAILED':
      return `unknown tag: ${first}`;
    default:
      return first;
  }
}

/** offsetOfPointer finds the source offset of the node a JSON pointer names, or of its nearest ancestor. */
function offsetOfPointer(root: YamlNode, pointer: string): number | undefined {
  let node: unknown = root;
  let offset = root.range?.[0];
  if (pointer === '' || pointer === '/') return offset;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isAlias(node)) break;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) break;
      offset = (pair.key as YamlNode).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)] as YamlNode | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** FileText is the decoded text of a manifest file and the real path it was read from. */
export interface FileText {
  text: string;
  realPath: string;
}

/**
 * readManifestFile reads a file as UTF-8 text without ever blocking or reading unbounded input:
 * it opens non-blocking (a FIFO cannot hang us), checks the opened descriptor is a regular file,
 * enforces the size limit, and refuses binary content. `mustBeUnder`, when given, is a realpath
 * the file's realpath must lie under (symlinks may not lead out of the manifests directory).
 */
export async function readManifestFile(
  path: string,
  opts: { limits?: CodecLimits; realPath?: string; mustBeUnder?: string } = {},
): Promise<FileText> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const realPath = opts.realPath ?? (await realpath(path));
  if (opts.mustBeUnder !== undefined && !isWithin(opts.mustBeUnder, realPath)) {
    throw new ManifestError('FILE_UNREADABLE', { file: path }, `resolves to ${realPath}, outside ${opts.mustBeUnder}`);
  }
  const handle = await open(realPath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ManifestError('FILE_UNREADABLE', { file: path }, 'not a regular file');
    if (info.size > limits.maxFileBytes) {
      throw new ManifestError('FILE_UNREADABLE', { file: path }, `file is ${info.size} bytes; the limit is ${limits.maxFileBytes}`);
    }
    const buffer = Buffer.alloc(Math.min(info.size, limits.maxFileBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length >= buffer.length) {
        throw new ManifestError('FILE_UNREADABLE', { file: path }, `file grew past the ${limits.maxFileBytes}-byte limit while being read`);
      }
    }
    return { text: decodeText(buffer.subarray(0, length), path), realPath };
  } finally {
    await handle.close();
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** decodeText decodes strict UTF-8 and refuses binary content (NUL bytes). */
export function decodeText(bytes: Uint8Array, file: string): string {
  if (bytes.includes(0)) throw new ManifestError('FILE_UNREADABLE', { file }, 'binary content (NUL bytes): not a YAML text file');
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new ManifestError('FILE_UNREADABLE', { file }, 'not valid UTF-8 text', { cause });
  }
}

/** isWithin tells whether `child` is `parent` or lies under it, separator-aware (`/a/b` does not contain `/a/bc`). */
export function isWithin(parent: string, child: string): boolean {
  if (child === parent) return true;
  const prefix = parent.endsWith('/') ? parent : `${parent}/`;
  return child.startsWith(prefix);
}

/** stringifyManifest renders resources as a multi-document YAML text, in a stable field order. */
export function stringifyManifest(values: readonly unknown[], header?: string): string {
  const body = values
    .map((v) => stringify(v, { lineWidth: 0, aliasDuplicateObjects: false, sortMapEntries: false }))
    .join('---\n');
  return header ? `${header.trimEnd()}\n${body}` : body;
}
