// file_operations: list, read, tail, search and stat, under the allowed roots only (`serve
// --file-root`, none by default). Every path goes through the path guard (hygiene/paths.ts); reads
// are capped and paged, tail reads backwards from the end in chunks, and search never follows a
// symlink (so no loop), matches with the safe matcher (literal or restricted glob, never a regular
// expression) and stops at result, file, byte and time budgets, saying which one it hit.

import { lstat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { join } from 'node:path';
import { ToolError, type ToolRegistry } from '../framework.ts';
import { FileRoots, type GuardedPath } from '../hygiene/paths.ts';
import { compileMatcher, MAX_PATTERN_LENGTH, type Matcher, type MatchMode } from '../hygiene/matcher.ts';
import type { McpServices } from '../services.ts';

/** READ_MAX_BYTES is the most one read returns; larger files are paged with offset. */
export const READ_MAX_BYTES = 1024 * 1024;
/** TAIL_MAX_LINES is the most lines tail returns. */
export const TAIL_MAX_LINES = 5000;
/** TAIL_MAX_BYTES is the most tail reads backwards from the end to find them. */
export const TAIL_MAX_BYTES = 4 * 1024 * 1024;
/** SEARCH_LIMITS bound one search: files looked at, bytes scanned per file and in all, and time. */
export const SEARCH_LIMITS = { files: 10_000, bytesPerFile: 8 * 1024 * 1024, bytesTotal: 64 * 1024 * 1024, timeMs: 5000, lineChars: 4096 } as const;
const LIST_MAX = 1000;
const CHUNK = 64 * 1024;

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

type FileArgs = {
  operation: 'list' | 'read' | 'tail' | 'search' | 'stat';
  path: string;
  offset?: number;
  limit?: number;
  lines?: number;
  namePattern?: string;
  contentPattern?: string;
  match?: MatchMode;
  caseSensitive?: boolean;
  maxResults?: number;
  maxDepth?: number;
};

function typeOf(s: Stats | Dirent): string {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'device';
  return 'other';
}

/** registerFileTools declares file_operations. */
export function registerFileTools(registry: ToolRegistry, s: McpServices): void {
  const roots = new FileRoots(s.fileRoots ?? []);
  registry.add<FileArgs>({
    name: 'file_operations',
    title: 'Files',
    description:
      'Read-only file access under the server\'s allowed roots (serve --file-root; off when none): list a directory, read a file (paged: offset/limit, at most 1 MiB), tail its last lines, search by file name glob and/or content (literal text, or a glob with * and ?; never a regular expression), or stat. Paths are resolved with realpath; symlinks leading outside the roots, "..", "~", NUL, percent-encoding, FIFOs, sockets, devices and /proc are refused.',
    inputSchema: {
      type: 'object',
      properties: {
        operation: { type: 'string', enum: ['list', 'read', 'tail', 'search', 'stat'] },
        path: { type: 'string', minLength: 1, maxLength: 4096, description: 'Absolute path under an allowed root (or relative to the first root). search: the directory to search.' },
        offset: { type: 'integer', minimum: 0, default: 0, description: 'read: byte offset to start at (nextOffset of the previous page).' },
        limit: { type: 'integer', minimum: 1, maximum: READ_MAX_BYTES, default: 65536, description: 'read: bytes to return.' },
        lines: { type: 'integer', minimum: 1, maximum: TAIL_MAX_LINES, default: 100, description: 'tail: lines from the end.' },
        namePattern: { type: 'string', minLength: 1, maxLength: MAX_PATTERN_LENGTH, description: 'search: file name glob (* and ?), e.g. *.log.' },
        contentPattern: { type: 'string', minLength: 1, maxLength: MAX_PATTERN_LENGTH, description: 'search: text to find in files (see match).' },
        match: { type: 'string', enum: ['literal', 'glob'], default: 'literal', description: 'search: contentPattern is literal text, or a glob (* any run, ? one character; at most 8 *).' },
        caseSensitive: { type: 'boolean', default: true, description: 'search: case-sensitive matching.' },
        maxResults: { type: 'integer', minimum: 1, maximum: 500, default: 100, description: 'search: most results.' },
        maxDepth: { type: 'integer', minimum: 0, maximum: 10, default: 5, description: 'search: how many directory levels below path.' },
      },
      required: ['operation', 'path'],
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      properties: {
        operation: { type: 'string' },
        path: { type: 'string' },
        entries: { type: 'array', items: { type: 'object' } },
        content: { type: 'string' },
        encoding: { type: 'string', enum: ['utf8', 'base64'] },
        size: { type: 'number' },
        offset: { type: 'number' },
        bytesRead: { type: 'number' },
        nextOffset: { type: 'number' },
        eof: { type: 'boolean' },
        lines: { type: 'array', items: { type: 'string' } },
        results: { type: 'array', items: { type: 'object' } },
        limited: { type: 'array', items: { type: 'string' } },
        stat: { type: 'object' },
      },
      required: ['operation', 'path'],
    },
    annotations: READ,
    access: 'file:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const g = await roots.resolve(args.path);
      switch (args.operation) {
        case 'stat': {
          const st = await lstat(g.real);
          return { structured: { operation: 'stat', path: g.real, stat: { type: typeOf(st), size: st.size, mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid, modified: st.mtime.toISOString(), changed: st.ctime.toISOString() } } };
        }
        case 'list':
          return { structured: await list(roots, g) };
        case 'read':
          return { structured: await read(roots, g, args.offset ?? 0, args.limit ?? 65536) };
        case 'tail':
          return { structured: await tail(roots, g, args.lines ?? 100) };
        case 'search':
          return { structured: await search(roots, g, args, ctx.signal) };
      }
    },
  });
}

async function list(roots: FileRoots, g: GuardedPath): Promise<Record<string, unknown>> {
  const dir = await roots.openDirectory(g);
  const entries: Array<Record<string, unknown>> = [];
  let more = false;
  try {
    for await (const d of dir) {
      if (entries.length >= LIST_MAX) {
        more = true;
        break;
      }
      const entry: Record<string, unknown> = { name: d.name, type: typeOf(d) };
      try {
        const st = await lstat(join(g.real, d.name));
        entry.size = st.size;
        entry.modified = st.mtime.toISOString();
      } catch {
        // vanished while listing
      }
      entries.push(entry);
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
  entries.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return { operation: 'list', path: g.real, entries, ...(more ? { limited: [`entries: only the first ${LIST_MAX}`] } : {}) };
}

async function read(roots: FileRoots, g: GuardedPath, offset: number, limit: number): Promise<Record<string, unknown>> {
  const { handle, stats } = await roots.openFile(g);
  try {
    const want = Math.max(0, Math.min(limit, READ_MAX_BYTES, stats.size - offset));
    const buf = Buffer.alloc(want);
    const { bytesRead } = want > 0 ? await handle.read(buf, 0, want, offset) : { bytesRead: 0 };
    const data = buf.subarray(0, bytesRead);
    const binary = data.includes(0);
    const next = offset + bytesRead;
    return {
      operation: 'read',
      path: g.real,
      size: stats.size,
      offset,
      bytesRead,
      eof: next >= stats.size,
      ...(next < stats.size ? { nextOffset: next } : {}),
      encoding: binary ? 'base64' : 'utf8',
      content: binary ? data.toString('base64') : data.toString('utf8'),
    };
  } finally {
    await handle.close();
  }
}

async function tail(roots: FileRoots, g: GuardedPath, lines: number): Promise<Record<string, unknown>> {
  const { handle, stats } = await roots.openFile(g);
  try {
    const chunks: Buffer[] = [];
    let pos = stats.size;
    let newlines = 0;
    let scanned = 0;
    // Read backwards until one more newline than lines wanted is seen (the start of the first line), or the byte budget ends.
    while (pos > 0 && newlines <= lines && scanned < TAIL_MAX_BYTES) {
      const n = Math.min(CHUNK, pos, TAIL_MAX_BYTES - scanned);
      pos -= n;
      const buf = Buffer.alloc(n);
      const { bytesRead } = await handle.read(buf, 0, n, pos);
      const data = buf.subarray(0, bytesRead);
      chunks.unshift(data);
      scanned += bytesRead;
      for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) newlines++;
    }
    let text = Buffer.concat(chunks).toString('utf8');
    if (text.endsWith('\n')) text = text.slice(0, -1);
    const all = text.split('\n');
    const startsMidLine = pos > 0;
    // The first piece began before what was read: dropped when enough whole lines came after it, else shown cut (its end).
    const budgetHit = startsMidLine && all.length <= lines;
    if (startsMidLine && !budgetHit) all.shift();
    const out = all.slice(-lines).map((l, i) =>
      budgetHit && i === 0 ? `…${l.slice(-SEARCH_LIMITS.lineChars)}` : l.length > SEARCH_LIMITS.lineChars ? `${l.slice(0, SEARCH_LIMITS.lineChars)}…` : l,
    );
    const limited = budgetHit ? [`bytes: read the last ${scanned} bytes only`] : [];
    return { operation: 'tail', path: g.real, size: stats.size, lines: out, ...(limited.length ? { limited } : {}) };
  } finally {
    await handle.close();
  }
}

async function search(roots: FileRoots, g: GuardedPath, args: FileArgs, signal: AbortSignal): Promise<Record<string, unknown>> {
  if (!args.namePattern && !args.contentPattern) throw new ToolError('INVALID_ARGUMENTS', 'search needs namePattern, contentPattern, or both');
  const nameMatch: Matcher | undefined = args.namePattern ? compileMatcher(args.namePattern, 'glob', { whole: true, caseSensitive: args.caseSensitive ?? true }) : undefined;
  const contentMatch: Matcher | undefined = args.contentPattern ? compileMatcher(args.contentPattern, args.match ?? 'literal', { whole: false, caseSensitive: args.caseSensitive ?? true }) : undefined;
  const maxResults = args.maxResults ?? 100;
  const maxDepth = args.maxDepth ?? 5;
  const deadline = Date.now() + SEARCH_LIMITS.timeMs;
  const results: Array<Record<string, unknown>> = [];
  const limited = new Set<string>();
  let files = 0;
  let bytesTotal = 0;
  const over = (): boolean => {
    if (results.length >= maxResults) limited.add(`results: stopped at ${maxResults}`);
    else if (files >= SEARCH_LIMITS.files) limited.add(`files: stopped after ${SEARCH_LIMITS.files} files`);
    else if (bytesTotal >= SEARCH_LIMITS.bytesTotal) limited.add(`bytes: stopped after scanning ${SEARCH_LIMITS.bytesTotal} bytes`);
    else if (Date.now() > deadline) limited.add(`time: stopped after ${SEARCH_LIMITS.timeMs} ms`);
    else if (signal.aborted) limited.add('cancelled');
    else return false;
    return true;
  };

  const scanFile = async (path: GuardedPath): Promise<void> => {
    let opened;
    try {
      opened = await roots.openFile(path);
    } catch {
      return; // unreadable or changed under us: skipped, like grep -s
    }
    const { handle } = opened;
    try {
      let pos = 0;
      let lineNo = 0;
      let carry = '';
      const buf = Buffer.alloc(CHUNK);
      while (pos < SEARCH_LIMITS.bytesPerFile && !over()) {
        const { bytesRead } = await handle.read(buf, 0, CHUNK, pos);
        if (bytesRead === 0) break;
        const data = buf.subarray(0, bytesRead);
        if (pos === 0 && data.includes(0)) return; // binary
        pos += bytesRead;
        bytesTotal += bytesRead;
        const parts = (carry + data.toString('utf8')).split('\n');
        carry = parts.pop()!;
        if (carry.length > SEARCH_LIMITS.lineChars) carry = carry.slice(0, SEARCH_LIMITS.lineChars);
        for (const line of parts) {
          lineNo++;
          const text = line.length > SEARCH_LIMITS.lineChars ? line.slice(0, SEARCH_LIMITS.lineChars) : line;
          if (contentMatch!(text)) {
            results.push({ path: path.real, line: lineNo, text: text.slice(0, 300) });
            if (over()) return;
          }
        }
      }
      if (carry && !over() && contentMatch!(carry)) results.push({ path: path.real, line: lineNo + 1, text: carry.slice(0, 300) });
    } finally {
      await handle.close();
    }
  };

  const walk = async (dirPath: GuardedPath, depth: number): Promise<void> => {
    let dir;
    try {
      dir = await roots.openDirectory(dirPath);
    } catch (err) {
      if (depth === 0) throw err; // the directory asked for: say why; below it, skip what cannot be listed
      return;
    }
    const subdirs: GuardedPath[] = [];
    try {
      for await (const d of dir) {
        if (over()) break;
        // Symlinks are never followed: no escapes and no loops.
        if (d.isSymbolicLink()) continue;
        const real = join(dirPath.real, d.name);
        if (d.isDirectory()) {
          if (depth < maxDepth) subdirs.push(await roots.within(real, real));
          continue;
        }
        if (!d.isFile()) continue;
        files++;
        if (nameMatch && !nameMatch(d.name)) continue;
        const child = await roots.within(real, real);
        if (!contentMatch) results.push({ path: real });
        else await scanFile(child);
      }
    } finally {
      await dir.close().catch(() => undefined);
    }
    for (const sub of subdirs) {
      if (over()) return;
      await walk(sub, depth + 1);
    }
  };

  await walk(g, 0);
  return { operation: 'search', path: g.real, results, ...(limited.size ? { limited: [...limited] } : {}) };
}
