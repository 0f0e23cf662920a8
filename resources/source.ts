// The manifests source: watches the manifests directory (chokidar) and keeps the store's desired
// state equal to what the files declare. A file that turns invalid keeps its last good resources in
// force; a kind/name defined in two files is an error for both; a directory that suddenly declares
// nothing (a failed checkout) deletes nothing unless explicitly allowed.

import { realpath } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { ManifestError } from './errors.ts';
import { silentLogger, type Logger } from './log.ts';
import { duplicateErrors, findDuplicates, isManifestName, loadManifestFile, walkManifests, type LoadedResource } from './manifests.ts';
import type { ResourceStore } from './store.ts';
import type { DesiredResource } from './types.ts';

const FOLLOW_UP_MS = 75;
import { parseResourceKey } from './kinds.ts';

/** ManifestSourceOptions configure a ManifestSource. */
export interface ManifestSourceOptions {
  dir: string;
  /** allowEmpty: a directory that declares nothing really means "delete everything". */
  allowEmpty?: boolean;
  /** settleMs: events are batched this long so a rename or a burst of writes is applied at once. */
  settleMs?: number;
  /** emptyGraceMs: a file that becomes empty is re-read after this long before its resources go (editors truncate, then write). */
  emptyGraceMs?: number;
  /** watch: false loads once and never watches (tests, one-shot tools). */
  watch?: boolean;
  logger?: Logger;
  /**
   * selects: which declared resources this agent sees (fleet targeting: `spec.hostSelector` against
   * the Host labels, see selector.ts). The others never reach the store, so no controller, metric or
   * read tool of this agent sees them; a resource that stops being selected is deleted from the store
   * (and pruned like any deleted resource). Duplicate and empty-directory checks still count every
   * declared resource. Default: everything.
   */
  selects?: (resource: DesiredResource) => boolean;
}

interface FileEntry {
  /** lastGood: the resources of the last valid version of the file; undefined if it was never valid. */
  lastGood?: LoadedResource[];
  errors: ManifestError[];
}

/** SourceSnapshot is a point-in-time view for describe, metrics and the CLI. */
export interface SourceSnapshot {
  files: number;
  resources: number;
  invalidFiles: number;
  errors: ManifestError[];
}

/** ManifestSource keeps a store in step with a manifests directory. */
export class ManifestSource {
  readonly dir: string;
  private root = '';
  private readonly store: ResourceStore;
  private readonly allowEmpty: boolean;
  private readonly settleMs: number;
  private readonly emptyGraceMs: number;
  private readonly watchFiles: boolean;
  private readonly log: Logger;
  private readonly selects: (resource: DesiredResource) => boolean;
  private readonly files = new Map<string, FileEntry>();
  private effective = new Map<string, LoadedResource>();
  private dupErrors = new Map<string, ManifestError[]>();
  private walkErrors: ManifestError[] = [];
  private readonly pending = new Set<string>();
  private readonly emptyRechecks = new Set<string>();
  private readonly followUps = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private stopped = false;
  private readonly appliedListeners = new Set<(changed: string[]) => void>();

  constructor(store: ResourceStore, opts: ManifestSourceOptions) {
    this.store = store;
    this.dir = resolve(opts.dir);
    this.allowEmpty = opts.allowEmpty ?? false;
    this.settleMs = opts.settleMs ?? 15;
    this.emptyGraceMs = opts.emptyGraceMs ?? 150;
    this.watchFiles = opts.watch ?? true;
    this.log = opts.logger ?? silentLogger;
    this.selects = opts.selects ?? (() => true);
  }

  /** start loads every file once, applies them, and (unless watch is off) starts watching. */
  async start(): Promise<void> {
    this.root = await realpath(this.dir);
    if (this.watchFiles) {
      this.watcher = watch(this.dir, {
        ignoreInitial: true,
        followSymlinks: false,
        ignored: (path, stats) => {
          const name = basename(path);
          if (path !== this.dir && name.startsWith('.')) return true;
          return stats !== undefined && !stats.isDirectory() && !isManifestName(name);
        },
      });
      const onPath = (path: string) => {
        this.enqueue(path);
        // chokidar drops a change that follows another within 50 ms on the same path (its
        // throttle has no trailing edge): look once more after that window so the last write wins.
        this.scheduleFollowUp(path);
      };
      this.watcher.on('add', onPath).on('change', onPath).on('unlink', onPath);
      this.watcher.on('unlinkDir', (dir: string) => {
        for (const file of this.files.keys()) if (file.startsWith(`${dir}${sep}`)) this.enqueue(file);
      });
      this.watcher.on('error', (err: unknown) => {
        this.log.warn('manifests watcher error; rescanning', { dir: this.dir, error: err as Error });
        void this.rescan();
      });
      await new Promise<void>((ready) => this.watcher!.once('ready', () => ready()));
    }
    await this.rescan();
  }

  /** stop ends watching and waits for a batch in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
    await this.running;
  }

  /** rescan re-walks the whole directory (start-up, watcher errors) and applies the result. */
  async rescan(): Promise<void> {
    const walked = await walkManifests([this.dir]);
    this.walkErrors = walked.errors.map((e) => relocate(e, this.display(e.where.file ?? this.dir)));
    for (const f of walked.files) this.pending.add(f);
    for (const f of this.files.keys()) this.pending.add(f);
    await this.runBatch();
  }

  /** idle resolves once every queued change has been applied (tests and benchmarks wait on it). */
  async idle(): Promise<void> {
    while (this.timer || this.pending.size) {
      await new Promise((r) => setTimeout(r, this.settleMs));
      await this.running;
    }
    await this.running;
  }

  /** onApplied is told the keys each applied batch changed in the store. */
  onApplied(listener: (changed: string[]) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /** snapshot returns counts and every current error (files, duplicates, walk problems). */
  snapshot(): SourceSnapshot {
    const errors = this.errors();
    let resources = 0;
    let invalidFiles = 0;
    for (const [file, entry] of this.files) {
      resources += entry.lastGood?.length ?? 0;
      if (entry.errors.length || this.dupErrors.has(this.display(file))) invalidFiles += 1;
    }
    return { files: this.files.size, resources, invalidFiles, errors };
  }

  /** errors lists every current problem, sorted by file. */
  errors(): ManifestError[] {
    const out = [...this.walkErrors];
    for (const [file, entry] of [...this.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push(...entry.errors, ...(this.dupErrors.get(this.display(file)) ?? []));
    }
    return out;
  }

  /** errorsFor lists problems relevant to one resource: errors in the file it comes from, and duplicate claims on it. */
  errorsFor(key: string): ManifestError[] {
    const origin = this.effective.get(key)?.file;
    return this.errors().filter((e) => e.where.resource === key || (origin !== undefined && e.where.file === origin));
  }

  /** originOf tells which file (relative to the directory) and line declares a resource. */
  originOf(key: string): { file: string; line: number } | undefined {
    const r = this.effective.get(key);
    return r ? { file: r.file, line: r.line } : undefined;
  }

  private display(path: string): string {
    const rel = relative(this.dir, path);
    return rel === '' || rel.startsWith('..') ? path : rel;
  }

  private enqueue(path: string): void {
    if (this.stopped) return;
    this.pending.add(resolve(path));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runBatch();
    }, this.settleMs);
  }

  private scheduleFollowUp(path: string): void {
    const abs = resolve(path);
    if (this.followUps.has(abs)) return;
    this.followUps.add(abs);
    setTimeout(() => {
      this.followUps.delete(abs);
      this.enqueue(abs);
    }, FOLLOW_UP_MS).unref();
  }

  private runBatch(): Promise<void> {
    this.running = this.running.then(() => this.applyBatch()).catch((err: unknown) => {
      this.log.error('applying manifests failed', { dir: this.dir, error: err as Error });
    });
    return this.running;
  }

  private async applyBatch(): Promise<void> {
    if (this.pending.size === 0) return;
    const paths = [...this.pending];
    this.pending.clear();
    const loaded = await Promise.all(paths.map((p) => loadManifestFile(p, { root: this.root, displayName: this.display(p) })));
    for (const [i, result] of loaded.entries()) {
      const path = paths[i]!;
      const entry = this.files.get(path);
      if (result.missing) {
        this.files.delete(path);
        continue;
      }
      if (result.errors.length) {
        for (const e of result.errors) this.log.warn('invalid manifest; its last good version stays in force', { error: e.message, code: e.code });
        this.files.set(path, { lastGood: entry?.lastGood, errors: result.errors });
        continue;
      }
      if (result.empty && (entry?.lastGood?.length ?? 0) > 0 && !this.emptyRechecks.has(path)) {
        // An editor that truncates before writing shows us an empty file for a moment: look again soon.
        this.emptyRechecks.add(path);
        setTimeout(() => this.enqueue(path), this.emptyGraceMs).unref();
        continue;
      }
      this.emptyRechecks.delete(path);
      this.files.set(path, { lastGood: result.resources, errors: [] });
    }
    this.applyToStore();
  }

  private applyToStore(): void {
    // Duplicates: every claiming file gets an error; the key keeps whatever was in force before.
    const claims = [...this.files.values()].map((e) => ({ file: '', resources: e.lastGood ?? [], errors: [] }));
    const duplicates = findDuplicates(claims);
    const duplicated = new Set(duplicates.map((d) => d.key));
    const dupErrors = new Map<string, ManifestError[]>();
    for (const d of duplicates) {
      for (const e of duplicateErrors(d)) dupErrors.set(e.where.file!, [...(dupErrors.get(e.where.file!) ?? []), e]);
    }
    this.dupErrors = dupErrors;

    const next = new Map<string, LoadedResource>();
    for (const entry of this.files.values()) {
      for (const r of entry.lastGood ?? []) if (!duplicated.has(r.key)) next.set(r.key, r);
    }
    for (const key of duplicated) {
      const before = this.effective.get(key);
      if (before) next.set(key, before);
    }

    const declaresNothing = next.size === 0 && [...this.files.values()].every((e) => e.errors.length === 0);
    const guarded = declaresNothing && this.effective.size > 0 && !this.allowEmpty;
    if (guarded) {
      const message = `the manifests directory ${this.dir} declares no resources any more; keeping the last ${this.effective.size} in force (start with --allow-empty to let an empty directory delete everything)`;
      this.log.warn('empty manifests source: nothing deleted', { dir: this.dir, kept: this.effective.size });
      this.store.setSourceState({ synced: true, empty: true, pruneAllowed: false, message });
      return;
    }

    const changed: string[] = [];
    for (const [key, r] of next) {
      if (!this.selects(r.resource)) continue;
      try {
        if (this.store.upsert(r.resource).change !== 'unchanged') changed.push(key);
      } catch (err) {
        this.log.error('store refused a manifest resource', { key, error: err as Error });
      }
    }
    for (const key of this.effective.keys()) {
      const r = next.get(key);
      if (r && this.selects(r.resource)) continue;
      const { kind, name } = parseResourceKey(key);
      if (this.store.delete(kind, name)) changed.push(key);
    }
    this.effective = next;
    this.store.setSourceState({
      synced: true,
      empty: next.size === 0,
      pruneAllowed: next.size > 0 || this.allowEmpty,
      ...(next.size === 0 && !this.allowEmpty ? { message: `the manifests directory ${this.dir} declares no resources; pruning is off until it does (or --allow-empty)` } : {}),
    });
    if (changed.length) {
      this.log.debug('manifests applied', { changed: changed.length });
      for (const l of this.appliedListeners) l(changed);
    }
  }
}

function relocate(e: ManifestError, file: string): ManifestError {
  return new ManifestError(e.code, { ...e.where, file }, e.detail);
}
