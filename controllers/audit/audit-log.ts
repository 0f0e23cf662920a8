// The audit log writer: one JSON line per decision in <state>/audit.log, hash-chained, fsynced,
// one writer at a time. A write that cannot be made durable throws AuditUnavailableError, and
// callers refuse the mutation it was guarding (fail closed).

import { constants as fsConstants } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemManagerError } from '../../resources/errors.ts';
import type { Identity } from '../../resources/identity.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import { GENESIS, hashRecord } from './chain.ts';
import type { AuditEntry, AuditRecord } from './types.ts';

/** AUDIT_FILE and AUDIT_KEY_FILE are the names of the log and of its HMAC key in the state directory. */
export const AUDIT_FILE = 'audit.log';
export const AUDIT_KEY_FILE = 'audit.key';

/** AuditUnavailableError: the audit log cannot be written, so the mutation it guards must not happen. */
export class AuditUnavailableError extends SystemManagerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUDIT_UNAVAILABLE', message, options);
  }
}

/** AuditLogOptions configure AuditLog.open. */
export interface AuditLogOptions {
  now?: () => Date;
  logger?: Logger;
  /** onAppend is told about every append once it is durable (no error) or has failed (the metrics layer counts them). */
  onAppend?: (entry: AuditEntry, error?: unknown) => void;
}

// Bounds keep one line small enough that a write is a single write(2) and a tail read stays cheap.
const MAX_FIELD = 4096;
const MAX_DETAIL = 8192;
const TAIL_CHUNK = 64 * 1024;

/**
 * AuditLog appends hash-chained lines to <state>/audit.log. Appends are serialized; each is one
 * write on an O_APPEND descriptor followed by fsync, and `prev` only moves once that succeeded.
 * Before each append the path is checked to still be the file the descriptor has open, so lines
 * never go to a file that was replaced or unlinked (where they would silently vanish).
 */
export class AuditLog {
  /** path is the audit log file. */
  readonly path: string;
  private readonly key: Buffer;
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly onAppend: AuditLogOptions['onAppend'];
  private handle: FileHandle | undefined;
  private ino = -1;
  private prev = GENESIS;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(path: string, key: Buffer, opts: AuditLogOptions) {
    this.path = path;
    this.key = key;
    this.now = opts.now ?? (() => new Date());
    this.log = opts.logger ?? silentLogger;
    this.onAppend = opts.onAppend;
  }

  /** open creates the state directory, the HMAC key (once, mode 0600) and the log, and finds the end of the chain. */
  static async open(stateDir: string, opts: AuditLogOptions = {}): Promise<AuditLog> {
    try {
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      const key = await loadOrCreateKey(join(stateDir, AUDIT_KEY_FILE));
      const audit = new AuditLog(join(stateDir, AUDIT_FILE), key, opts);
      await audit.ensureOpen();
      return audit;
    } catch (err) {
      if (err instanceof AuditUnavailableError) throw err;
      throw new AuditUnavailableError(`cannot open the audit log in ${stateDir}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** append records one decision durably; it throws AuditUnavailableError when it cannot. */
  append(entry: AuditEntry): Promise<void> {
    const run = this.queue.then(() => this.write(entry));
    this.queue = run.catch(() => {});
    if (this.onAppend) {
      const notify = (error?: unknown) => {
        try {
          this.onAppend?.(entry, error);
        } catch {
          // a counting hook must never change the outcome of an append
        }
      };
      run.then(() => notify(), (err: unknown) => notify(err ?? new Error('audit append failed')));
    }
    return run;
  }

  /** tail returns the last n records, oldest first. */
  tail(n: number): Promise<AuditRecord[]> {
    const run = this.queue.then(async () => (await readTailLines(this.path, Math.max(0, Math.floor(n)))).lines.map((l) => JSON.parse(l) as AuditRecord));
    this.queue = run.catch(() => {});
    return run;
  }

  /** hmac is the HMAC-SHA256 (hex) of a secret under this log's key, as lines carry it in `secretHmac`. */
  hmac(secret: string): string {
    return createHmac('sha256', this.key).update(secret).digest('hex');
  }

  /** close waits for pending appends and releases the file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
  }

  private async write(entry: AuditEntry): Promise<void> {
    if (this.closed) throw new AuditUnavailableError('the audit log is closed');
    try {
      await this.ensureOpen();
      const record: Omit<AuditRecord, 'hash'> = {
        time: this.now().toISOString(),
        ...(entry.identity ? { identity: cleanIdentity(entry.identity) } : {}),
        action: clip(entry.action, 128),
        ...(entry.target !== undefined ? { target: clip(entry.target, MAX_FIELD) } : {}),
        outcome: entry.outcome,
        ...(entry.scope !== undefined ? { scope: clip(entry.scope, 128) } : {}),
        ...(entry.proposal !== undefined ? { proposal: clip(entry.proposal, 253) } : {}),
        ...(entry.detail !== undefined ? { detail: clip(entry.detail, MAX_DETAIL) } : {}),
        ...(entry.secret !== undefined ? { secretHmac: this.hmac(entry.secret) } : {}),
        prev: this.prev,
      };
      const hash = hashRecord(record);
      const line = `${JSON.stringify({ ...record, hash })}\n`;
      await this.handle!.write(line);
      await this.handle!.sync();
      this.prev = hash;
    } catch (err) {
      // The descriptor may have half a line behind it: drop it, and the next append reopens and
      // cuts the torn tail before continuing the chain.
      await this.handle?.close().catch(() => {});
      this.handle = undefined;
      this.log.error('cannot write the audit log; refusing the change it guards', { path: this.path, error: err as Error });
      if (err instanceof AuditUnavailableError) throw err;
      throw new AuditUnavailableError(`cannot write the audit log ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async ensureOpen(): Promise<void> {
    if (this.handle) {
      const info = await lstat(this.path).catch(() => undefined);
      if (info?.isFile() && info.ino === this.ino) return;
      await this.handle.close().catch(() => {});
      this.handle = undefined;
      if (!info) throw new AuditUnavailableError(`the audit log ${this.path} was removed`);
    }
    // O_NOFOLLOW: a symlink planted in place of the log (to /dev/null, say) must not receive lines.
    const handle = await open(this.path, fsConstants.O_RDWR | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK, 0o600).catch((err: NodeJS.ErrnoException) => {
      throw new AuditUnavailableError(`cannot open the audit log ${this.path}: ${err.code === 'ELOOP' ? 'it is a symlink' : err.message}`, { cause: err });
    });
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new AuditUnavailableError(`the audit log ${this.path} is not a regular file`);
      const tail = await readTailLines(this.path, 1, handle);
      if (tail.tornBytes > 0) {
        // An append that was cut short (crash before its fsync returned) was never acknowledged.
        await handle.truncate(info.size - tail.tornBytes);
        await handle.sync();
        this.log.warn('cut an incomplete last line from the audit log (an append was interrupted)', { path: this.path, bytes: tail.tornBytes });
      }
      const last = tail.lines[0];
      let prev = GENESIS;
      if (last !== undefined) {
        let record: AuditRecord | undefined;
        try {
          record = JSON.parse(last) as AuditRecord;
        } catch {
          record = undefined;
        }
        if (!record || typeof record.hash !== 'string' || hashRecord(record) !== record.hash) {
          throw new AuditUnavailableError(`the last line of the audit log ${this.path} is damaged; run "systemmanager audit verify" and move the file aside`);
        }
        prev = record.hash;
      }
      this.handle = handle;
      this.ino = info.ino;
      this.prev = prev;
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }
}

/** readTailLines reads the last n complete lines of a file from its end; `tornBytes` counts bytes after the last newline. */
export async function readTailLines(path: string, n: number, open_?: FileHandle): Promise<{ lines: string[]; tornBytes: number }> {
  const handle = open_ ?? (await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
  try {
    const size = (await handle.stat()).size;
    let pos = size;
    let text = Buffer.alloc(0);
    let newlines = 0;
    while (pos > 0 && newlines <= n) {
      const len = Math.min(TAIL_CHUNK, pos);
      pos -= len;
      const chunk = Buffer.alloc(len);
      await handle.read(chunk, 0, len, pos);
      for (const b of chunk) if (b === 0x0a) newlines += 1;
      text = Buffer.concat([chunk, text]);
    }
    const lastNewline = text.lastIndexOf(0x0a);
    const tornBytes = text.length - (lastNewline + 1);
    if (lastNewline < 0 || n === 0) return { lines: [], tornBytes };
    const whole = text.subarray(0, lastNewline).toString('utf8').split('\n');
    // The first piece may be a partial line when the read stopped mid-file.
    if (pos > 0) whole.shift();
    return { lines: whole.slice(-n).filter((l) => l.length > 0), tornBytes };
  } finally {
    if (!open_) await handle.close();
  }
}

async function loadOrCreateKey(path: string): Promise<Buffer> {
  try {
    await writeFile(path, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const info = await lstat(path);
  if (!info.isFile()) throw new AuditUnavailableError(`the audit key ${path} is not a regular file`);
  if ((info.mode & 0o077) !== 0) throw new AuditUnavailableError(`the audit key ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
  const hex = (await readFile(path, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new AuditUnavailableError(`the audit key ${path} is damaged (expected 64 hex digits)`);
  return Buffer.from(hex, 'hex');
}

function cleanIdentity(i: Identity): Identity {
  return {
    agent: clip(String(i.agent), 256),
    ...(i.tokenId !== undefined ? { tokenId: clip(i.tokenId, 64) } : {}),
    ...(i.tailscaleLogin !== undefined ? { tailscaleLogin: clip(i.tailscaleLogin, 320) } : {}),
    ...(i.tailscaleName !== undefined ? { tailscaleName: clip(i.tailscaleName, 256) } : {}),
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
