// The path guard of file_operations. A path is refused before anything is opened when it is
// malformed (NUL, `~`, `..`, percent-encoding), then resolved with realpath — every symlink,
// intermediate directories included — and admitted only when the result lies under an allowed root,
// separator-aware (`/srv/data` does not admit `/srv/data-evil`). Files and directories are then
// opened with O_NOFOLLOW|O_NONBLOCK, the descriptor is fstat'ed (regular files only: no FIFO, socket
// or device), and the kernel's own name for the descriptor (/proc/self/fd/N) is checked against the
// roots again, so a symlink swapped in between the check and the open is caught too.

import { constants as fsConstants } from 'node:fs';
import { lstat, open, opendir, readlink, realpath, type FileHandle } from 'node:fs/promises';
import type { Dir, Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isWithin } from '../../../resources/yaml-codec.ts';
import { ToolError } from '../framework.ts';

/** MAX_PATH_BYTES is the longest path accepted. */
export const MAX_PATH_BYTES = 4096;

/** SPECIAL_TREES are never readable, whatever the roots: their files are not files. */
export const SPECIAL_TREES = ['/proc', '/sys', '/dev'];

/** GuardedPath is a path that passed the guard: what the caller asked, where it really is, and the root that admits it. */
export interface GuardedPath {
  input: string;
  real: string;
  root: string;
}

/** OpenedFile is an open regular file with its stats; close it. */
export interface OpenedFile {
  handle: FileHandle;
  stats: Stats;
}

const OPEN_FILE = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW | fsConstants.O_NOCTTY;
const OPEN_DIR = fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW;

function kindOf(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

/** FileRoots holds the allowed roots and guards every path against them. */
export class FileRoots {
  /** configured: the roots as given (`serve --file-root`), absolute. */
  readonly configured: readonly string[];

  constructor(roots: readonly string[]) {
    this.configured = roots.map((r) => resolve(r));
  }

  /** empty tells whether no root is configured (file_operations is then off). */
  get empty(): boolean {
    return this.configured.length === 0;
  }

  private async realRoots(): Promise<Array<{ configured: string; real: string }>> {
    const out: Array<{ configured: string; real: string }> = [];
    for (const configured of this.configured) {
      try {
        out.push({ configured, real: await realpath(configured) });
      } catch {
        // A root that does not exist (yet) admits nothing.
      }
    }
    return out;
  }

  /** resolve checks `input` and returns where it really is; it throws PATH_INVALID, PATH_FORBIDDEN or NOT_FOUND. */
  async resolve(input: string): Promise<GuardedPath> {
    if (this.empty) throw new ToolError('FILE_ROOTS_NOT_CONFIGURED', 'file_operations is off: this server was started without --file-root, so no path is readable');
    const shown = JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}…` : input);
    if (input.length === 0) throw new ToolError('PATH_INVALID', 'refused path "": empty');
    if (input.includes('\0')) throw new ToolError('PATH_INVALID', `refused path ${shown}: it contains a NUL byte`);
    if (Buffer.byteLength(input) > MAX_PATH_BYTES) throw new ToolError('PATH_INVALID', `refused path: longer than ${MAX_PATH_BYTES} bytes`);
    if (/%[0-9a-f]{2}/i.test(input)) throw new ToolError('PATH_INVALID', `refused path ${shown}: percent-encoding (such as %2e) is neither decoded nor allowed`);
    const segments = input.split('/');
    if (segments.some((s) => s.startsWith('~'))) throw new ToolError('PATH_INVALID', `refused path ${shown}: "~" is not expanded; give an absolute path under an allowed root`);
    if (segments.includes('..')) throw new ToolError('PATH_INVALID', `refused path ${shown}: ".." segments are not allowed`);
    const lexical = isAbsolute(input) ? resolve(input) : resolve(this.configured[0]!, input);
    if (SPECIAL_TREES.some((t) => isWithin(t, lexical))) throw new ToolError('PATH_FORBIDDEN', `refused path ${shown}: ${SPECIAL_TREES.join(', ')} are never readable (their entries are not regular files)`);
    const roots = await this.realRoots();
    if (!roots.some((r) => isWithin(r.configured, lexical) || isWithin(r.real, lexical))) {
      throw new ToolError('PATH_FORBIDDEN', `refused path ${shown}: it is outside the allowed roots (${this.configured.join(', ')})`);
    }
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ToolError('NOT_FOUND', `no such file or directory: ${shown}`);
      if (code === 'ELOOP') throw new ToolError('PATH_FORBIDDEN', `refused path ${shown}: a symlink loop`);
      throw new ToolError('PATH_FORBIDDEN', `refused path ${shown}: ${code ?? 'cannot be resolved'}`);
    }
    return this.admit(input, real, roots);
  }

  private admit(input: string, real: string, roots: Array<{ configured: string; real: string }>): GuardedPath {
    const shown = JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}…` : input);
    if (SPECIAL_TREES.some((t) => isWithin(t, real))) throw new ToolError('PATH_FORBIDDEN', `refused path ${shown}: it leads into ${SPECIAL_TREES.join(', ')}, which are never readable`);
    const root = roots.find((r) => isWithin(r.real, real));
    if (!root) throw new ToolError('PATH_FORBIDDEN', `refused path ${shown}: a symlink on the way leads outside the allowed roots`);
    return { input, real, root: root.real };
  }

  /** within re-checks a path met during a walk (already real: no symlinks are followed there). */
  async within(input: string, real: string): Promise<GuardedPath> {
    return this.admit(input, real, await this.realRoots());
  }

  /** openFile opens a guarded regular file; anything else (FIFO, socket, device, directory) is refused before it is opened. */
  async openFile(g: GuardedPath): Promise<OpenedFile> {
    const before = await lstat(g.real);
    if (!before.isFile()) throw new ToolError('PATH_FORBIDDEN', `refused ${JSON.stringify(g.input)}: it is ${kindOf(before)}; only regular files are read`);
    let handle: FileHandle;
    try {
      handle = await open(g.real, OPEN_FILE);
    } catch (err) {
      throw new ToolError('PATH_FORBIDDEN', `refused ${JSON.stringify(g.input)}: ${(err as NodeJS.ErrnoException).code === 'ELOOP' ? 'it became a symlink' : (err as Error).message}`);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new ToolError('PATH_FORBIDDEN', `refused ${JSON.stringify(g.input)}: it is ${kindOf(stats)}; only regular files are read`);
      await this.checkDescriptor(g, handle.fd);
      return { handle, stats };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** openDirectory opens a guarded directory without following a symlink, and lists it through the verified descriptor. */
  async openDirectory(g: GuardedPath): Promise<Dir> {
    const before = await lstat(g.real);
    if (!before.isDirectory()) throw new ToolError('INVALID_ARGUMENTS', `${JSON.stringify(g.input)} is ${kindOf(before)}, not a directory`);
    let handle: FileHandle;
    try {
      handle = await open(g.real, OPEN_DIR);
    } catch (err) {
      throw new ToolError('PATH_FORBIDDEN', `refused ${JSON.stringify(g.input)}: ${(err as NodeJS.ErrnoException).code === 'ELOOP' ? 'it became a symlink' : (err as Error).message}`);
    }
    try {
      const fdPath = await this.checkDescriptor(g, handle.fd);
      // opendir through /proc/self/fd/N lists the directory that was checked, not whatever the name points at now.
      return await opendir(fdPath ?? g.real);
    } finally {
      await handle.close();
    }
  }

  private async checkDescriptor(g: GuardedPath, fd: number): Promise<string | undefined> {
    const fdPath = `/proc/self/fd/${fd}`;
    let actual: string;
    try {
      actual = await readlink(fdPath);
    } catch {
      return undefined; // no /proc: the realpath check and O_NOFOLLOW stand alone
    }
    if (!isWithin(g.root, actual)) throw new ToolError('PATH_FORBIDDEN', `refused ${JSON.stringify(g.input)}: it changed to a place outside the allowed roots while being opened`);
    return fdPath;
  }
}
