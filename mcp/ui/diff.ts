// Reading a proposal's diff (status.diff: one unified diff per resource, concatenated) into files and
// lines for the page to color. Pure and DOM-free, so it is unit-tested in Node; app.ts imports it
// and esbuild bundles both for the browser.

/** DiffLine is one line of a file's diff; `kind` picks its color. */
export interface DiffLine {
  kind: 'add' | 'del' | 'ctx' | 'hunk' | 'meta';
  text: string;
}

/** DiffFile is the diff of one resource's manifest file. */
export interface DiffFile {
  path: string;
  lines: DiffLine[];
}

/**
 * parseDiff splits a multi-file unified diff into files. Hunk headers give the line counts, so a
 * removed line that happens to read "--- x" is never taken for the start of another file.
 */
export function parseDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  for (const line of text.split('\n')) {
    if (oldLeft > 0 || newLeft > 0) {
      const kind = line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('\\') ? 'meta' : 'ctx';
      if (kind === 'add') newLeft--;
      else if (kind === 'del') oldLeft--;
      else if (kind === 'ctx') {
        oldLeft--;
        newLeft--;
      }
      file?.lines.push({ kind, text: line });
      continue;
    }
    if (line.startsWith('--- ')) {
      file = { path: stripPrefix(line.slice(4)), lines: [] };
      files.push(file);
    } else if (line.startsWith('+++ ') && file) {
      const to = stripPrefix(line.slice(4));
      if (to !== '/dev/null') file.path = to;
    } else if (line.startsWith('@@')) {
      const m = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
      oldLeft = m ? Number(m[1] ?? 1) : 0;
      newLeft = m ? Number(m[2] ?? 1) : 0;
      file ??= pushFile(files, '');
      file.lines.push({ kind: 'hunk', text: line });
    } else if (line === '\\ No newline at end of file' && file) {
      file.lines.push({ kind: 'meta', text: line });
    } else if (line !== '' && !/^(=+|Index: .*)$/.test(line)) {
      file ??= pushFile(files, '');
      file.lines.push({ kind: 'meta', text: line });
    }
  }
  return files;
}

function pushFile(files: DiffFile[], path: string): DiffFile {
  const f: DiffFile = { path, lines: [] };
  files.push(f);
  return f;
}

function stripPrefix(name: string): string {
  const n = name.split('\t')[0]!;
  return n.startsWith('a/') || n.startsWith('b/') ? n.slice(2) : n;
}
