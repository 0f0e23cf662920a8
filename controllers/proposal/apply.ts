// The manifest writer: turns an approved proposal's changes into whole-file edits of the manifests
// directory and writes them atomically. A resource is written to the file it came from (only its
// own document is edited, in place, so the other documents and comments stay) or, when new, to
// `<manifests>/<plural>/<name>.yaml`. Every path is resolved through symlinks and must stay inside
// the manifests directory. Edited text is re-validated with the same loader the watcher uses
// before anything is written.

import { lstat, mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Document, isMap, isScalar, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { deepEqual } from '../../resources/canonical.ts';
import { KINDS, resourceKey, type KindName } from '../../resources/kinds.ts';
import { parseManifests } from '../../resources/manifests.ts';
import { removeFileDurably, writeFileAtomic } from '../../resources/persistence.ts';
import type { DesiredResource } from '../../resources/types.ts';
import { isWithin, readManifestFile } from '../../resources/yaml-codec.ts';
import { toDesired } from './diff.ts';
import { ApplyFailedError, ManifestPathOutsideError } from './errors.ts';

/** ManifestOrigins is the part of the ManifestSource the writer needs: where a resource came from. */
export interface ManifestOrigins {
  readonly dir: string;
  originOf(key: string): { file: string; line: number } | undefined;
}

/** FileChange is one change with the file it goes to (relative to the manifests directory). */
export interface FileChange {
  operation: 'create' | 'update' | 'delete';
  kind: KindName;
  name: string;
  object?: DesiredResource;
  file: string;
}

/** PlannedFile is the whole new content of one file; `after` undefined removes the file. */
export interface PlannedFile {
  /** file: relative to the manifests directory, as shown in diffs and git. */
  file: string;
  /** path: the real path written (symlinks inside the directory resolved). */
  path: string;
  before: string | undefined;
  after: string | undefined;
}

/** defaultManifestPath is where a new resource goes: `<plural>/<name>.yaml`. */
export function defaultManifestPath(kind: KindName, name: string): string {
  return `${KINDS[kind].plural}/${name}.yaml`;
}

/** manifestFileFor is the file a resource is written to: where it came from, or the default path. */
export function manifestFileFor(origins: ManifestOrigins, kind: KindName, name: string): string {
  return origins.originOf(resourceKey(kind, name))?.file ?? defaultManifestPath(kind, name);
}

/**
 * resolveManifestPath resolves `file` (relative to the manifests directory) to the real path to
 * write, refusing anything that lands outside: `..`, absolute paths, a symlinked parent directory
 * or a symlinked file leading out. `root` must be the realpath of the manifests directory.
 */
export async function resolveManifestPath(root: string, file: string): Promise<string> {
  if (file.includes('\0')) throw new ManifestPathOutsideError(JSON.stringify(file), 'a path with a NUL byte', root);
  const abs = isAbsolute(file) ? resolve(file) : resolve(root, file);
  if (!isWithin(root, abs) || abs === root) throw new ManifestPathOutsideError(file, abs, root);
  // The nearest existing ancestor decides where a new directory would really be created.
  let ancestor = dirname(abs);
  for (;;) {
    const info = await lstat(ancestor).catch(() => undefined);
    if (info) break;
    ancestor = dirname(ancestor);
  }
  const realAncestor = await realpath(ancestor);
  if (!isWithin(root, realAncestor)) throw new ManifestPathOutsideError(file, join(realAncestor, relative(ancestor, abs)), root);
  const info = await lstat(abs).catch(() => undefined);
  if (!info) return join(realAncestor, relative(ancestor, abs));
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    throw new ManifestPathOutsideError(file, `an unresolvable path (${(err as NodeJS.ErrnoException).code ?? 'error'})`, root);
  }
  if (!isWithin(root, real)) throw new ManifestPathOutsideError(file, real, root);
  return real;
}

/** planFiles computes the new text of every file the changes touch, validated as the watcher would load it. */
export async function planFiles(root: string, changes: readonly FileChange[]): Promise<PlannedFile[]> {
  const byPath = new Map<string, { file: string; changes: FileChange[] }>();
  for (const c of changes) {
    const path = await resolveManifestPath(root, c.file);
    const entry = byPath.get(path) ?? { file: relative(root, path), changes: [] };
    entry.changes.push(c);
    byPath.set(path, entry);
  }
  const planned: PlannedFile[] = [];
  for (const [path, { file, changes: edits }] of byPath) {
    const before = await readExisting(path, root, file);
    const after = editManifestText(before, edits, file);
    planned.push({ file, path, before, after });
  }
  return planned;
}

/**
 * editManifestText applies edits to a file's text. Each edited document is changed node by node, so
 * comments and formatting on untouched lines stay; other documents are re-emitted as parsed. The
 * result is re-loaded and must declare exactly the intended resources, or the edit is refused.
 */
export function editManifestText(before: string | undefined, edits: readonly FileChange[], file: string): string | undefined {
  const docs: Document[] = before ? (parseAllDocuments(before, { schema: 'core', merge: false, uniqueKeys: true }) as unknown as Document[]) : [];
  if (!Array.isArray(docs)) throw new ApplyFailedError(`${file}: cannot parse the existing file`);
  for (const d of docs) if (d.errors.length) throw new ApplyFailedError(`${file}: the existing file is not valid YAML (${d.errors[0]!.message.split('\n')[0]}); fix it first`);
  const render = (fallback: boolean) => {
    const out = docs.map((d) => d.clone());
    for (const edit of edits) {
      const i = out.findIndex((d) => declares(d, edit.kind, edit.name));
      if (edit.operation === 'delete') {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) {
        const doc = out[i]!;
        doc.contents = fallback ? (doc.createNode(edit.object) as YamlNode) : (merge(doc, doc.contents, edit.object) as YamlNode);
      } else {
        out.push(new Document(edit.object));
      }
    }
    const kept = out.filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null));
    if (kept.length === 0) return undefined;
    return kept
      .map((d, i) => {
        const text = d.toString({ lineWidth: 0 });
        return i > 0 && !text.startsWith('---') ? `---\n${text}` : text;
      })
      .join('');
  };
  for (const fallback of [false, true]) {
    const text = render(fallback);
    if (text === undefined) return undefined;
    const problem = checkEdited(text, edits, file);
    if (!problem) return text;
    if (fallback) throw new ApplyFailedError(`${file}: the edited file would not load: ${problem}`);
  }
  throw new ApplyFailedError(`${file}: unreachable`);
}

function checkEdited(text: string, edits: readonly FileChange[], file: string): string | undefined {
  const loaded = parseManifests(text, file);
  if (loaded.errors.length) return loaded.errors[0]!.message;
  for (const e of edits) {
    const found = loaded.resources.find((r) => r.key === resourceKey(e.kind, e.name));
    if (e.operation === 'delete') {
      if (found) return `${e.kind}/${e.name} is still declared`;
    } else if (!found || !deepEqual(found.resource, toDesired(e.object!))) {
      return `${e.kind}/${e.name} does not come out as proposed`;
    }
  }
  return undefined;
}

function declares(doc: Document, kind: string, name: string): boolean {
  const value = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
  return value !== null && typeof value === 'object' && value.kind === kind && value.metadata?.name === name;
}

function merge(doc: Document, node: unknown, value: unknown): unknown {
  if (isMap(node) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const wanted = value as Record<string, unknown>;
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key !== 'string' || !(key in wanted)) node.delete(pair.key);
    }
    for (const [k, v] of Object.entries(wanted)) {
      const existing = node.get(k, true);
      if (existing === undefined) node.set(k, doc.createNode(v));
      else {
        const merged = merge(doc, existing, v);
        if (merged !== existing) node.set(k, merged);
      }
    }
    return node;
  }
  if (isSeq(node) && Array.isArray(value) && node.items.length === value.length) {
    node.items = node.items.map((item, i) => merge(doc, item, value[i]) as typeof item);
    return node;
  }
  if (isScalar(node) && (value === null || typeof value !== 'object') && typeof node.value === typeof value) {
    if (node.value !== value) node.value = value;
    return node;
  }
  return doc.createNode(value);
}

async function readExisting(path: string, root: string, file: string): Promise<string | undefined> {
  try {
    return (await readManifestFile(path, { mustBeUnder: root })).text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ApplyFailedError(`${file}: cannot read the existing file: ${(err as Error).message}`, { cause: err });
  }
}

/** PauseHook is called between the steps of an apply (the crash tests stop the process there). */
export type PauseHook = (point: string) => Promise<void>;

/**
 * writePlanned writes every planned file atomically (or removes it). When one fails, the files
 * already written get their old content back, so a failed apply leaves the directory as it was.
 */
export async function writePlanned(planned: readonly PlannedFile[], pause: PauseHook = async () => {}): Promise<void> {
  const done: PlannedFile[] = [];
  try {
    for (const [i, p] of planned.entries()) {
      if (p.after === undefined) await removeFileDurably(p.path);
      else {
        await mkdir(dirname(p.path), { recursive: true });
        await writeFileAtomic(p.path, p.after);
      }
      done.push(p);
      await pause(`file:${i + 1}`);
    }
  } catch (err) {
    for (const p of done.reverse()) {
      try {
        if (p.before === undefined) await removeFileDurably(p.path);
        else await writeFileAtomic(p.path, p.before);
      } catch {
        // Best effort: the error below already says the apply failed; recover() re-checks the files.
      }
    }
    throw new ApplyFailedError(`writing the manifests failed: ${(err as Error).message}`, { cause: err });
  }
}

/** currentInFile reads the resource `Kind/name` as the file at `file` declares it now (undefined: not declared, or no file). */
export async function currentInFile(root: string, file: string, kind: KindName, name: string): Promise<DesiredResource | undefined> {
  const path = await resolveManifestPath(root, file);
  const text = await readExisting(path, root, file);
  if (text === undefined) return undefined;
  const loaded = parseManifests(text, file);
  return loaded.resources.find((r) => r.key === resourceKey(kind, name))?.resource;
}
