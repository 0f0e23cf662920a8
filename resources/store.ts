// The store: every resource's desired spec (from manifests or, for server-owned kinds, from the
// server) and observed status, with Kubernetes semantics: `generation` moves only when spec changes,
// `resourceVersion` on every write, and a write carrying a stale resourceVersion is refused.
// Controllers watch it. Status and server-owned objects persist in the state directory.

import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, deepFreeze, deepEqual } from './canonical.ts';
import { AlreadyExistsError, ConflictError, NotFoundError, StateIOError } from './errors.ts';
import { API_VERSION, KINDS, isKindName, resourceKey, type KindName } from './kinds.ts';
import { removeFileDurably, writeFileAtomic } from './persistence.ts';
import type { DesiredResource, Resource, ResourceStatus } from './types.ts';

/** WatchEventType follows the Kubernetes watch API. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** WatchEvent tells a listener what changed; `specChanged` is false for status-only writes. */
export interface WatchEvent {
  type: WatchEventType;
  key: string;
  kind: KindName;
  name: string;
  object: Resource;
  /** specChanged: the desired state moved (new, deleted, or a new generation). */
  specChanged: boolean;
  /** statusChanged: only the observed status moved. */
  statusChanged: boolean;
}

/** WatchListener receives events synchronously, in write order. */
export type WatchListener = (event: WatchEvent) => void;

/** StoreOptions configure a ResourceStore. */
export interface StoreOptions {
  /** stateDir: where status and server-owned resources persist; none keeps everything in memory. */
  stateDir?: string;
  /** now: the clock, injectable for tests. */
  now?: () => Date;
  /** flushDelayMs: status writes are batched and flushed this long after the first dirty write. */
  flushDelayMs?: number;
  /** onPersistError: called when a background flush fails (the next write retries). */
  onPersistError?: (err: Error) => void;
}

/** WriteOptions carry optimistic concurrency: the resourceVersion the caller last read. */
export interface WriteOptions {
  expectedResourceVersion?: string;
}

/** UpsertResult says what an upsert did. */
export interface UpsertResult {
  object: Resource;
  change: 'created' | 'updated' | 'unchanged';
}

/** SourceState is what the desired-state source reports about itself (the empty-source guard). */
export interface SourceState {
  /** synced: the source has loaded everything once since start. */
  synced: boolean;
  /** empty: the source holds no files (a failed checkout looks like this). */
  empty: boolean;
  /** pruneAllowed: controllers may delete what the source no longer declares. */
  pruneAllowed: boolean;
  message?: string;
}

interface PersistedRecord {
  apiVersion: string;
  kind: KindName;
  metadata: Resource['metadata'];
  spec: Resource['spec'];
  status?: ResourceStatus;
}

const SAFE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** ResourceStore holds every resource in memory and persists what the server owns. */
export class ResourceStore {
  readonly stateDir: string | undefined;
  private readonly objects = new Map<string, Resource>();
  /** remembered: persisted records of manifest kinds, consulted when the manifest arrives again after a restart. */
  private readonly remembered = new Map<string, PersistedRecord>();
  private readonly listeners = new Set<WatchListener>();
  private readonly dirty = new Set<string>();
  private readonly now: () => Date;
  private readonly flushDelayMs: number;
  private readonly onPersistError: (err: Error) => void;
  private version = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private source: SourceState = { synced: false, empty: true, pruneAllowed: false, message: 'the manifests source has not loaded yet' };
  private readonly sourceListeners = new Set<(s: SourceState) => void>();

  private constructor(opts: StoreOptions) {
    this.stateDir = opts.stateDir;
    this.now = opts.now ?? (() => new Date());
    this.flushDelayMs = opts.flushDelayMs ?? 50;
    this.onPersistError = opts.onPersistError ?? (() => {});
  }

  /** open creates a store and loads what the state directory holds. */
  static async open(opts: StoreOptions = {}): Promise<ResourceStore> {
    const store = new ResourceStore(opts);
    if (opts.stateDir) await store.load(opts.stateDir);
    return store;
  }

  /** get returns the stored object (frozen: copy before changing it). */
  get(kind: string, name: string): Resource | undefined {
    return this.objects.get(resourceKey(kind, name));
  }

  /** getByKey returns the stored object for `Kind/name`. */
  getByKey(key: string): Resource | undefined {
    return this.objects.get(key);
  }

  /** list returns the objects of one kind (or all), sorted by kind then name. */
  list(kind?: KindName): Resource[] {
    const out: Resource[] = [];
    for (const o of this.objects.values()) if (!kind || o.kind === kind) out.push(o);
    return out.sort((a, b) => (a.kind === b.kind ? cmp(a.metadata.name, b.metadata.name) : cmp(a.kind, b.kind)));
  }

  /** size is the number of stored objects. */
  get size(): number {
    return this.objects.size;
  }

  /** create adds a resource that must not exist yet. */
  create(desired: DesiredResource): Resource {
    if (this.objects.has(resourceKey(desired.kind, desired.metadata.name))) throw new AlreadyExistsError(desired.kind, desired.metadata.name);
    return this.upsert(desired).object;
  }

  /**
   * upsert makes the stored desired state equal `desired` (spec, labels, annotations). An identical
   * spec keeps the generation; an identical object is not written at all.
   */
  upsert(desired: DesiredResource, opts: WriteOptions = {}): UpsertResult {
    const key = resourceKey(desired.kind, desired.metadata.name);
    assertSafeName(desired.metadata.name);
    const current = this.objects.get(key);
    this.checkVersion(desired.kind, desired.metadata.name, current, opts);
    const spec = structuredClone(desired.spec ?? {});
    const labels = desired.metadata.labels ? { ...desired.metadata.labels } : undefined;
    const annotations = desired.metadata.annotations ? { ...desired.metadata.annotations } : undefined;

    if (current) {
      const specChanged = !deepEqual(current.spec, spec);
      const metaChanged = !deepEqual(current.metadata.labels ?? {}, labels ?? {}) || !deepEqual(current.metadata.annotations ?? {}, annotations ?? {});
      if (!specChanged && !metaChanged) return { object: current, change: 'unchanged' };
      const next: Resource = {
        ...current,
        metadata: {
          ...current.metadata,
          labels,
          annotations,
          generation: current.metadata.generation + (specChanged ? 1 : 0),
          resourceVersion: this.nextVersion(),
        },
        spec,
      };
      this.commit(key, next, { type: 'MODIFIED', specChanged, statusChanged: false });
      return { object: this.objects.get(key)!, change: 'updated' };
    }

    const before = this.remembered.get(key);
    this.remembered.delete(key);
    const sameSpec = before !== undefined && deepEqual(before.spec, spec);
    const next: Resource = {
      apiVersion: API_VERSION,
      kind: desired.kind,
      metadata: {
        name: desired.metadata.name,
        labels,
        annotations,
        uid: before?.metadata.uid ?? randomUUID(),
        generation: before ? before.metadata.generation + (sameSpec ? 0 : 1) : 1,
        resourceVersion: this.nextVersion(),
        creationTimestamp: before?.metadata.creationTimestamp ?? this.now().toISOString(),
      },
      spec,
      ...(before?.status ? { status: structuredClone(before.status) } : {}),
    };
    this.commit(key, next, { type: 'ADDED', specChanged: true, statusChanged: false });
    return { object: this.objects.get(key)!, change: 'created' };
  }

  /** updateStatus replaces an object's status. It never bumps generation and is reported as status-only. */
  updateStatus(kind: string, name: string, status: ResourceStatus, opts: WriteOptions = {}): Resource {
    const key = resourceKey(kind, name);
    const current = this.objects.get(key);
    if (!current) throw new NotFoundError(kind, name);
    this.checkVersion(kind, name, current, opts);
    if (deepEqual(current.status ?? {}, status)) return current;
    const next: Resource = { ...current, metadata: { ...current.metadata, resourceVersion: this.nextVersion() }, status: structuredClone(status) };
    this.commit(key, next, { type: 'MODIFIED', specChanged: false, statusChanged: true });
    return this.objects.get(key)!;
  }

  /** delete removes an object; deleting a missing one returns undefined. */
  delete(kind: string, name: string, opts: WriteOptions = {}): Resource | undefined {
    const key = resourceKey(kind, name);
    const current = this.objects.get(key);
    if (!current) {
      if (opts.expectedResourceVersion !== undefined) throw new NotFoundError(kind, name);
      return undefined;
    }
    this.checkVersion(kind, name, current, opts);
    this.objects.delete(key);
    this.markDirty(key);
    this.emit({ type: 'DELETED', key, kind: current.kind, name, object: current, specChanged: true, statusChanged: false });
    return current;
  }

  /** watch subscribes to every change; it returns the unsubscribe function. */
  watch(listener: WatchListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** sourceState is the last state the manifests source reported. */
  get sourceState(): SourceState {
    return this.source;
  }

  /** setSourceState is called by the manifests source; listeners (controllers' prune) are told. */
  setSourceState(state: SourceState): void {
    if (deepEqual(this.source, state)) return;
    this.source = Object.freeze({ ...state });
    if (state.synced) {
      // What the source did not declare on its first full load is gone from git: forget it.
      for (const key of [...this.remembered.keys()]) {
        if (KINDS[this.remembered.get(key)!.kind].storage === 'manifests') {
          this.remembered.delete(key);
          this.markDirty(key);
        }
      }
    }
    for (const l of this.sourceListeners) safeCall(() => l(this.source));
  }

  /** onSourceState subscribes to source state changes. */
  onSourceState(listener: (s: SourceState) => void): () => void {
    this.sourceListeners.add(listener);
    return () => this.sourceListeners.delete(listener);
  }

  /** flush writes every pending change to the state directory and resolves when it is durable. */
  async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const run = this.flushing.then(() => this.writeDirty());
    this.flushing = run.catch(() => {});
    await run;
  }

  /** close flushes and stops background writes. */
  async close(): Promise<void> {
    await this.flush();
    this.listeners.clear();
    this.sourceListeners.clear();
  }

  private checkVersion(kind: string, name: string, current: Resource | undefined, opts: WriteOptions): void {
    if (opts.expectedResourceVersion === undefined) return;
    if (current?.metadata.resourceVersion !== opts.expectedResourceVersion) {
      throw new ConflictError(kind, name, opts.expectedResourceVersion, current?.metadata.resourceVersion);
    }
  }

  private nextVersion(): string {
    this.version += 1;
    return String(this.version);
  }

  private commit(key: string, next: Resource, event: Pick<WatchEvent, 'type' | 'specChanged' | 'statusChanged'>): void {
    deepFreeze(next);
    this.objects.set(key, next);
    this.markDirty(key);
    this.emit({ ...event, key, kind: next.kind, name: next.metadata.name, object: next });
  }

  private emit(event: WatchEvent): void {
    for (const l of this.listeners) safeCall(() => l(event));
  }

  private markDirty(key: string): void {
    if (!this.stateDir) return;
    this.dirty.add(key);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flush().catch((err: Error) => this.onPersistError(err));
      }, this.flushDelayMs);
      this.flushTimer.unref();
    }
  }

  private recordPath(key: string): string {
    const slash = key.indexOf('/');
    return join(this.stateDir!, 'resources', key.slice(0, slash), `${key.slice(slash + 1)}.json`);
  }

  private async writeDirty(): Promise<void> {
    if (!this.stateDir || this.dirty.size === 0) return;
    const keys = [...this.dirty];
    this.dirty.clear();
    const failed: string[] = [];
    let firstError: unknown;
    await Promise.all(
      keys.map(async (key) => {
        const object = this.objects.get(key);
        const remembered = this.remembered.get(key);
        try {
          if (object) await writeFileAtomic(this.recordPath(key), `${canonicalJson(toRecord(object))}\n`, { mode: 0o600 });
          else if (remembered) return;
          else await removeFileDurably(this.recordPath(key));
        } catch (err) {
          failed.push(key);
          firstError ??= err;
        }
      }),
    );
    if (failed.length) {
      for (const k of failed) this.dirty.add(k);
      throw new StateIOError(`cannot write ${failed.length} record(s) to the state directory ${this.stateDir}: ${(firstError as Error).message}`, { cause: firstError });
    }
  }

  private async load(stateDir: string): Promise<void> {
    const root = join(stateDir, 'resources');
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
      for (const kindDir of await readdir(root)) {
        if (!isKindName(kindDir)) continue;
        for (const file of await readdir(join(root, kindDir))) {
          if (!file.endsWith('.json') || file.startsWith('.')) continue;
          const record = parseRecord(await readFile(join(root, kindDir, file), 'utf8'), kindDir);
          if (!record) continue; // a foreign or damaged file: ignore it rather than refuse to start
          const key = resourceKey(record.kind, record.metadata.name);
          this.version = Math.max(this.version, Number(record.metadata.resourceVersion) || 0);
          if (KINDS[record.kind].storage === 'state') this.objects.set(key, deepFreeze(record as Resource));
          else this.remembered.set(key, record);
        }
      }
    } catch (err) {
      throw new StateIOError(`cannot load the state directory ${stateDir}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function toRecord(object: Resource): PersistedRecord {
  return { apiVersion: object.apiVersion, kind: object.kind, metadata: object.metadata, spec: object.spec, ...(object.status ? { status: object.status } : {}) };
}

function parseRecord(text: string, kind: KindName): PersistedRecord | undefined {
  try {
    const r = JSON.parse(text) as PersistedRecord;
    if (r.kind !== kind || typeof r.metadata?.name !== 'string' || !SAFE_NAME.test(r.metadata.name)) return undefined;
    return r;
  } catch {
    return undefined;
  }
}

function assertSafeName(name: string): void {
  // Names are schema-validated before they get here; this guards the state directory paths anyway.
  if (!SAFE_NAME.test(name) || name.length > 253) throw new TypeError(`unsafe resource name ${JSON.stringify(name)}`);
}

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    // A listener's bug must not break the store or other listeners.
    queueMicrotask(() => {
      process.emitWarning(`store listener threw: ${(err as Error).stack ?? String(err)}`);
    });
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
