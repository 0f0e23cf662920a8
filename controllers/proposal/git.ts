// Git for the manifests directory: is it a work tree, commit exactly the files a proposal touched
// (approver as author, systemmanager as committer), and find a proposal's commit again after a
// crash. Every call is execFile with an argument array; pathspecs are literal (GIT_LITERAL_PATHSPECS)
// so a file name can never act as pathspec magic, and nothing may prompt.

import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

/** GitAuthor is the author of a commit. */
export interface GitAuthor {
  name: string;
  email: string;
}

const COMMITTER = ['-c', 'user.name=systemmanager', '-c', 'user.email=systemmanager@localhost', '-c', 'commit.gpgsign=false'];

function git(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-C', cwd, ...args],
      { env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_LITERAL_PATHSPECS: '1', LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 128) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 128 ? err.message : '') });
      },
    );
  });
}

async function gitOk(cwd: string, args: string[]): Promise<string> {
  const r = await git(cwd, args);
  if (r.code !== 0) throw new Error(`git ${args.filter((a) => !a.startsWith('user.')).slice(0, 3).join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

/** isGitWorkTree tells whether dir is inside a git work tree (false when git itself is missing). */
export async function isGitWorkTree(dir: string): Promise<boolean> {
  const r = await git(dir, ['rev-parse', '--is-inside-work-tree']);
  return r.code === 0 && r.stdout.trim() === 'true';
}

/**
 * commitPaths stages and commits exactly `paths` (relative to dir; deleted ones included) and returns
 * the new commit, or undefined when those paths hold nothing to commit. Other staged or modified
 * files in the work tree are left as they are (`git commit -- <paths>` commits only these).
 */
export async function commitPaths(dir: string, paths: readonly string[], author: GitAuthor, message: string): Promise<string | undefined> {
  const present: string[] = [];
  for (const p of paths) {
    const exists = await access(join(dir, p)).then(() => true, () => false);
    const tracked = exists || (await gitOk(dir, ['ls-files', '--', p])).trim() !== '';
    if (tracked) present.push(p);
  }
  if (present.length === 0) return undefined;
  await gitOk(dir, ['add', '-A', '--', ...present]);
  const staged = await git(dir, ['diff', '--cached', '--quiet', '--', ...present]);
  if (staged.code === 0) return undefined;
  if (staged.code !== 1) throw new Error(`git diff --cached failed: ${staged.stderr.trim()}`);
  await gitOk(dir, [...COMMITTER, 'commit', '--no-verify', '--quiet', `--author=${author.name} <${author.email}>`, '-m', message, '--', ...present]);
  return (await gitOk(dir, ['rev-parse', 'HEAD'])).trim();
}

/** findProposalCommit finds the newest commit whose message has the trailer `Proposal: <id>`. */
export async function findProposalCommit(dir: string, id: string): Promise<string | undefined> {
  const r = await git(dir, ['log', '-n', '1', '--format=%H', '--fixed-strings', `--grep=Proposal: ${id}`]);
  if (r.code !== 0) return undefined; // no commits yet
  return r.stdout.trim() || undefined;
}

/** gitSafe strips what git would refuse or misread in an author name or email. */
export function gitSafe(text: string): string {
  return text.replace(/[<>\n\r\0]/g, '').trim() || 'unknown';
}
