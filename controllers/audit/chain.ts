// The audit log's hash chain: how one line is hashed and linked to the line before, and the check
// that walks a whole file. Kept apart from the writer so `audit verify` needs nothing but a path.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { canonicalJson, sha256Hex } from '../../resources/canonical.ts';
import type { AuditRecord } from './types.ts';

/** GENESIS is the `prev` of the first line: no line came before it. */
export const GENESIS = '0'.repeat(64);

/** hashRecord is sha256(prev + canonical JSON of the record without its `hash`). */
export function hashRecord(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  return sha256Hex(`${rest.prev}${canonicalJson(rest)}`);
}

/** AuditVerification is the outcome of verifyAuditLog: every line checks out, or the first that does not. */
export type AuditVerification = { ok: true; lines: number } | { ok: false; line: number; reason: string };

/**
 * verifyAuditLog walks the file line by line and reports the first line (1-based) whose JSON does not
 * parse, whose `prev` is not the hash of the line before, or whose `hash` does not match its content.
 * It streams, so a large log costs time but not memory.
 */
export async function verifyAuditLog(path: string): Promise<AuditVerification> {
  let stream;
  try {
    stream = createReadStream(path, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => {
      stream!.once('open', () => resolve());
      stream!.once('error', reject);
    });
  } catch (err) {
    return { ok: false, line: 0, reason: `cannot read ${path}: ${(err as Error).message}` };
  }
  let prev = GENESIS;
  let n = 0;
  let endsWithNewline = true;
  stream.on('data', (chunk) => {
    if (chunk.length > 0) endsWithNewline = (chunk as string).endsWith('\n');
  });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      n += 1;
      const failure = checkLine(text, prev);
      if (typeof failure === 'string') return { ok: false, line: n, reason: failure };
      prev = failure.hash;
    }
  } catch (err) {
    return { ok: false, line: n + 1, reason: `cannot read: ${(err as Error).message}` };
  } finally {
    lines.close();
    stream.destroy();
  }
  if (!endsWithNewline) return { ok: false, line: n, reason: 'incomplete line (no trailing newline): a write was cut short' };
  return { ok: true, lines: n };
}

/** checkLine returns the parsed record when the line is sound after `prev`, or why it is not. */
export function checkLine(text: string, prev: string): AuditRecord | string {
  let record: AuditRecord;
  try {
    record = JSON.parse(text) as AuditRecord;
  } catch {
    return 'not valid JSON';
  }
  if (!record || typeof record !== 'object' || typeof record.hash !== 'string' || typeof record.prev !== 'string') {
    return 'not an audit record (no hash or prev)';
  }
  if (record.prev !== prev) return "prev does not match the previous line's hash (a line was removed, inserted or reordered)";
  if (hashRecord(record) !== record.hash) return 'hash mismatch';
  return record;
}
