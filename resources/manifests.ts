// Loading manifests: a file becomes a list of validated desired resources or a list of located
// errors (never both applied: a file with any error is invalid as a whole, so its last good version
// stays in force, the way Flux refuses a whole Kustomization that fails validation). Also the
// directory walk shared by `validate` and the watcher, and the duplicate check across files.

import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ManifestError } from './errors.ts';
import { KINDS, resourceKey, type KindName } from './kinds.ts';
import type { DesiredResource } from './types.ts';
import { DEFAULT_LIMITS, isWithin, parseManifestText, readManifestFile, type CodecLimits } from './yaml-codec.ts';
import { validateResource } from './validation.ts';

/** LoadedResource is one valid resource and where it came from. */
export interface LoadedResource {
  key: string;
  resource: DesiredResource;
  file: string;
  document: number;
  line: number;
}

/** LoadedFile is the outcome of loading one manifest file. */
export interface LoadedFile {
  file: string;
  resources: LoadedResource[];
  errors: ManifestError[];
}

/** isManifestName tells whether a file name is a manifest: `*.yaml`/`*.yml`, not hidden (editors' temp files are). */
export function isManifestName(name: string): boolean {
  return !name.startsWith('.') && /\.ya?ml$/i.test(name);
}

/** parseManifests validates already-read text: the pure half of loadManifestFile. */
export function parseManifests(text: string, file: string, limits: CodecLimits = DEFAULT_LIMITS): LoadedFile {
  const { documents, errors } = parseManifestText(text, file, limits);
  const resources: LoadedResource[] = [];
  const inFile = new Map<string, number>();
  for (const doc of documents) {
    const outcome = validateResource(doc.value);
    if (!outcome.ok) {
      const resource = outcome.kind && outcome.name ? resourceKey(outcome.kind, outcome.name) : undefined;
      for (const issue of outcome.issues) {
        const pos = doc.lineOf(issue.pointer);
        errors.push(new ManifestError(outcome.code, { file, line: pos.line, column: pos.column, document: doc.index, resource, pointer: issue.pointer }, issue.message));
      }
      continue;
    }
    const key = resourceKey(outcome.kind, outcome.name);
    const earlier = inFile.get(key);
    if (earlier !== undefined) {
      errors.push(new ManifestError('DUPLICATE_RESOURCE', { file, line: doc.line, document: doc.index, resource: key }, `defined twice in this file (first at line ${earlier})`));
      continue;
    }
    if (KINDS[outcome.kind].storage === 'state') {
      errors.push(new ManifestError('SCHEMA_INVALID', { file, line: doc.line, document: doc.index, resource: key, pointer: '/kind' }, `${outcome.kind} resources are created by the server, not declared in manifests`));
      continue;
    }
    inFile.set(key, doc.line);
    resources.push({ key, resource: toDesired(outcome.resource), file, document: doc.index, line: doc.line });
  }
  return { file, resources: errors.length ? [] : resources, errors };
}

/**
 * toDesired keeps only what a manifest may declare — apiVersion, kind, name, labels, annotations,
 * spec — dropping server-set metadata and status as `kubectl apply` does, and empty label or
 * annotation maps, so equal declarations compare equal wherever they came from (a file, a proposal,
 * a REST body). The one place this is decided.
 */
export function toDesired(object: Pick<DesiredResource, 'apiVersion' | 'kind' | 'spec'> & { metadata: DesiredResource['metadata'] }): DesiredResource {
  const { name, labels, annotations } = object.metadata;
  const metadata: DesiredResource['metadata'] = { name };
  if (labels && Object.keys(labels).length) metadata.labels = { ...labels };
  if (annotations && Object.keys(annotations).length) metadata.annotations = { ...annotations };
  return { apiVersion: object.apiVersion, kind: object.kind, metadata, spec: structuredClone(object.spec ?? {}) };
}

/**
 * loadManifestFile reads and validates one file. A file that vanished while being read comes back as
 * `missing: true` with no errors (the watcher will see the unlink).
 */
export async function loadManifestFile(
  file: string,
  opts: { root?: string; limits?: CodecLimits; displayName?: string } = {},
): Promise<LoadedFile & { missing?: boolean; empty?: boolean }> {
  const shown = opts.displayName ?? file;
  try {
    const { text } = await readManifestFile(file, { limits: opts.limits, mustBeUnder: opts.root });
    const loaded = parseManifests(text, shown, opts.limits);
    return text.trim() === '' ? { ...loaded, empty: true } : loaded;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { file: shown, resources: [], errors: [], missing: true };
    if (err instanceof ManifestError) {
      return { file: shown, resources: [], errors: [new ManifestError(err.code, { ...err.where, file: shown }, err.detail, { cause: err })] };
    }
    const detail = code === 'ELOOP' ? 'symlink loop' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    return { file: shown, resources: [], errors: [new ManifestError('FILE_UNREADABLE', { file: shown }, detail, { cause: err })] };
  }
}

/** WalkResult lists manifest files found under some paths and problems met on the way. */
export interface WalkResult {
  files: string[];
  errors: ManifestError[];
}

/**
 * walkManifests lists manifest files under the given files or directories, recursively, skipping
 * hidden entries. Symlinks are followed only while they stay inside the directory being walked, and
 * each real directory is entered once, so a symlink loop ends the walk of that branch with an error.
 */
export async function walkManifests(paths: readonly string[]): Promise<WalkResult> {
  const files: string[] = [];
  const errors: ManifestError[] = [];
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      errors.push(new ManifestError('FILE_UNREADABLE', { file: p }, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message));
      continue;
    }
    if (!info.isDirectory()) {
      files.push(p);
      continue;
    }
    const root = await realpath(p);
    const visited = new Set<string>();
    const walk = async (dir: string, real: string): Promise<void> => {
      if (visited.has(real)) {
        errors.push(new ManifestError('FILE_UNREADABLE', { file: dir }, 'symlink loop: this directory was already visited'));
        return;
      }
      visited.add(real);
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        errors.push(new ManifestError('FILE_UNREADABLE', { file: dir }, (err as Error).message));
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          await walk(full, join(real, entry.name));
        } else if (entry.isSymbolicLink()) {
          let target: string;
          try {
            target = await realpath(full);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (isManifestName(entry.name) || code === 'ELOOP') {
              errors.push(new ManifestError('FILE_UNREADABLE', { file: full }, code === 'ELOOP' ? 'symlink loop' : code === 'ENOENT' ? 'dangling symlink' : (err as Error).message));
            }
            continue;
          }
          if (!isWithin(root, target)) {
            errors.push(new ManifestError('FILE_UNREADABLE', { file: full }, `symlink leads outside ${p} (to ${target})`));
            continue;
          }
          const tinfo = await stat(target).catch(() => undefined);
          if (tinfo?.isDirectory()) await walk(full, target);
          else if (isManifestName(entry.name)) files.push(full);
        } else if (isManifestName(entry.name)) {
          files.push(full); // regular files and special files alike: reading refuses the latter with a message
        }
      }
    };
    await walk(p, root);
  }
  return { files, errors };
}

/** DuplicateClaim is a kind/name that more than one file defines. */
export interface DuplicateClaim {
  key: string;
  claims: LoadedResource[];
}

/** findDuplicates lists every key claimed by more than one file. */
export function findDuplicates(files: Iterable<LoadedFile>): DuplicateClaim[] {
  const byKey = new Map<string, LoadedResource[]>();
  for (const f of files) for (const r of f.resources) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  return [...byKey].filter(([, claims]) => claims.length > 1).map(([key, claims]) => ({ key, claims }));
}

/** duplicateErrors renders one error per claiming file, each naming every other file. */
export function duplicateErrors(dup: DuplicateClaim): ManifestError[] {
  return dup.claims.map(
    (c) =>
      new ManifestError(
        'DUPLICATE_RESOURCE',
        { file: c.file, line: c.line, document: c.document, resource: dup.key },
        `also defined in ${dup.claims.filter((o) => o !== c).map((o) => `${o.file}:${o.line}`).join(', ')}`,
      ),
  );
}

/** ValidateReport is what `systemmanager validate` reports. */
export interface ValidateReport {
  files: number;
  resources: number;
  errors: ManifestError[];
}

/** validatePaths loads every manifest under the given paths and checks them together, duplicates included. */
export async function validatePaths(paths: readonly string[], cwd = process.cwd()): Promise<ValidateReport> {
  const walked = await walkManifests(paths.map((p) => resolve(cwd, p)));
  const shown = (f: string) => {
    const rel = relative(cwd, f);
    return rel.startsWith('..') ? f : rel;
  };
  const errors = walked.errors.map((e) => new ManifestError(e.code, { ...e.where, file: e.where.file ? shown(e.where.file) : undefined }, e.detail));
  const loaded = await Promise.all(walked.files.map((f) => loadManifestFile(f, { displayName: shown(f) })));
  for (const l of loaded) errors.push(...l.errors);
  for (const dup of findDuplicates(loaded)) errors.push(...duplicateErrors(dup));
  const resources = loaded.reduce((n, l) => n + l.resources.length, 0);
  return { files: walked.files.length, resources, errors };
}
