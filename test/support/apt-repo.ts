// A local apt repository for tests (DESIGN §10): tiny .deb packages built with dpkg-deb, indexed
// with dpkg-scanpackages and served to apt as a `file:` source marked [trusted=yes]. apt is pointed at
// it only through options (its own sources list, lists and cache directories), so the machine's apt
// configuration and package lists are never touched. Also: a sandbox dpkg root, and a process that
// holds the dpkg lock, for lock tests that must not block the machine's own apt.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { commandAvailable } from './parts.ts';
import { tempDir } from './manifests.ts';

const run = promisify(execFile);

/** TEST_PACKAGE_PREFIX starts the name of every test package, so none can clash with a real one. */
export const TEST_PACKAGE_PREFIX = 'systemmanager-test-';

/** APT_PARTS are the programs the apt tests need. */
export const APT_PARTS = ['dpkg-deb', 'dpkg-scanpackages', 'apt-get', 'apt-cache', 'dpkg-query', 'dpkg'] as const;

/** APT_HINT is the requirePart hint when a part is missing. */
export const APT_HINT = 'needs apt-get, apt-cache, dpkg, dpkg-query, dpkg-deb and dpkg-scanpackages (apt-get install dpkg-dev; scripts/install-deps.sh), run as root';

/** aptAvailable tells whether every apt part is installed and the tests run as root (installing needs it). */
export function aptAvailable(): boolean {
  return APT_PARTS.every((c) => commandAvailable(c)) && process.getuid?.() === 0;
}

/** TestDeb describes one package to build. */
export interface TestDeb {
  name: string;
  version: string;
  /** depends: the control file's Depends field. */
  depends?: string;
}

/** AptRepo is a built repository and the apt options that make apt use only it. */
export interface AptRepo {
  dir: string;
  repoDir: string;
  sourcesList: string;
  /** aptOptions: pass to createAptBackend so apt reads only this repository, with its own lists and cache. */
  aptOptions: string[];
  /** add builds more packages into the repository and re-indexes it (apt sees them after an index update). */
  add(debs: TestDeb[]): Promise<void>;
}

/** createAptRepo builds the packages into a fresh repository under a temp directory removed after the test. */
export async function createAptRepo(t: TestContext, debs: TestDeb[]): Promise<AptRepo> {
  return createAptRepoIn(await tempDir(t, 'sm-apt-'), debs);
}

/** createAptRepoIn builds the repository under `dir` (the caller removes it; benchmarks have no TestContext). */
export async function createAptRepoIn(dir: string, debs: TestDeb[]): Promise<AptRepo> {
  const repoDir = join(dir, 'repo');
  await mkdir(repoDir, { recursive: true });
  await mkdir(join(dir, 'lists', 'partial'), { recursive: true });
  await mkdir(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  const sourcesList = join(dir, 'sources.list');
  await writeFile(sourcesList, `deb [trusted=yes] file:${repoDir} ./\n`);
  const repo: AptRepo = {
    dir,
    repoDir,
    sourcesList,
    aptOptions: [
      '-o', `Dir::Etc::SourceList=${sourcesList}`,
      '-o', 'Dir::Etc::SourceParts=/dev/null',
      '-o', `Dir::State::Lists=${join(dir, 'lists')}`,
      '-o', `Dir::Cache=${join(dir, 'cache')}`,
      // No binary caches: apt would otherwise write them under Dir::Cache on every read.
      '-o', 'Dir::Cache::pkgcache=',
      '-o', 'Dir::Cache::srcpkgcache=',
    ],
    async add(more) {
      for (const deb of more) await buildDeb(dir, repoDir, deb);
      await index(repoDir);
    },
  };
  await repo.add(debs);
  return repo;
}

async function buildDeb(dir: string, repoDir: string, deb: TestDeb): Promise<void> {
  if (!deb.name.startsWith(TEST_PACKAGE_PREFIX)) throw new Error(`test packages must be named ${TEST_PACKAGE_PREFIX}*`);
  const root = join(dir, 'build', `${deb.name}_${deb.version}`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  const share = join(root, 'usr', 'share', 'systemmanager-test', deb.name);
  await mkdir(share, { recursive: true });
  await writeFile(join(share, 'version'), `${deb.name} ${deb.version}\n`);
  const control = [
    `Package: ${deb.name}`,
    `Version: ${deb.version}`,
    'Architecture: all',
    'Maintainer: systemmanager tests <tests@localhost>',
    ...(deb.depends ? [`Depends: ${deb.depends}`] : []),
    'Section: misc',
    'Priority: optional',
    'Description: systemmanager test package',
    ' Built by the systemmanager test suite; safe to remove.',
    '',
  ].join('\n');
  await writeFile(join(root, 'DEBIAN', 'control'), control);
  await run('dpkg-deb', ['--build', '--root-owner-group', root, join(repoDir, `${deb.name}_${deb.version}_all.deb`)]);
}

async function index(repoDir: string): Promise<void> {
  const { stdout } = await run('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repoDir });
  await writeFile(join(repoDir, 'Packages'), stdout);
}

/** purgeTestPackages removes test packages from the machine's dpkg database (nothing else: every name must carry the prefix). */
export async function purgeTestPackages(names: string[], adminDir?: string): Promise<void> {
  for (const n of names) if (!n.startsWith(TEST_PACKAGE_PREFIX)) throw new Error(`refusing to purge ${n}: not a test package`);
  if (names.length === 0) return;
  const admin = adminDir ? [`--admindir=${adminDir}`] : [];
  await run('dpkg', [...admin, '--purge', '--', ...names], { env: { ...process.env, LC_ALL: 'C' } });
}

/** installedTestVersion reads the installed version of a package from dpkg (undefined when not installed). */
export async function installedVersion(name: string, adminDir?: string): Promise<string | undefined> {
  const admin = adminDir ? [`--admindir=${adminDir}`] : [];
  try {
    const { stdout } = await run('dpkg-query', [...admin, '-W', '-f', '${db:Status-Status} ${Version}', '--', name]);
    const [status, version] = stdout.split(' ');
    return status === 'installed' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** DpkgSandbox is a private dpkg root: apt and dpkg act on its database and files, never the machine's. */
export interface DpkgSandbox {
  root: string;
  adminDir: string;
  /** aptOptions: add to the repository's aptOptions so apt reads this root's status and runs dpkg with --root. */
  aptOptions: string[];
}

/** createDpkgSandbox makes an empty dpkg root under `dir`. */
export async function createDpkgSandbox(dir: string): Promise<DpkgSandbox> {
  const root = join(dir, 'root');
  const adminDir = join(root, 'var', 'lib', 'dpkg');
  for (const sub of ['updates', 'info', 'triggers']) await mkdir(join(adminDir, sub), { recursive: true });
  await mkdir(join(root, 'var', 'lib', 'apt'), { recursive: true });
  await mkdir(join(root, 'var', 'log', 'apt'), { recursive: true });
  await writeFile(join(adminDir, 'status'), '');
  return {
    root,
    adminDir,
    aptOptions: [
      '-o', `Dir::State::status=${join(adminDir, 'status')}`,
      // apt rewrites extended_states (the auto-installed marks) from the packages it sees and drops
      // every other entry: with a private status file it would erase the machine's marks.
      '-o', `Dir::State::extended_states=${join(root, 'var', 'lib', 'apt', 'extended_states')}`,
      '-o', `Dir::Log=${join(root, 'var', 'log', 'apt')}`,
      '-o', `DPkg::Options::=--root=${root}`,
    ],
  };
}

// struct flock on LP64 Linux (x86_64, aarch64): short l_type, short l_whence, 4 bytes padding,
// off_t l_start, off_t l_len, pid_t l_pid, 4 bytes padding. apt takes fcntl locks, which flock(1)
// would not conflict with; Perl is Essential on Debian, so it is always there to take one.
const HOLD_LOCK_PERL = `
use strict; use Fcntl qw(F_SETLK F_WRLCK SEEK_SET O_RDWR O_CREAT);
my @held;
for my $f (@ARGV) {
  sysopen(my $fh, $f, O_RDWR|O_CREAT, 0640) or die "open $f: $!\\n";
  my $flock = pack('s s x4 q q l x4', F_WRLCK, SEEK_SET, 0, 0, 0);
  fcntl($fh, F_SETLK, $flock) or die "lock $f: $!\\n";
  push @held, $fh;
}
$| = 1; print "locked\\n"; <STDIN>;
`;

/** lockHolderAvailable tells whether holdDpkgLock can work here (perl, and a struct flock layout it knows). */
export function lockHolderAvailable(): boolean {
  return commandAvailable('perl') && process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');
}

/** holdDpkgLock starts a process holding the dpkg locks of `adminDir`; release() (also run after the test) ends it. */
export async function holdDpkgLock(t: TestContext, adminDir: string): Promise<{ pid: number; release(): Promise<void> }> {
  const child: ChildProcess = spawn('perl', ['-e', HOLD_LOCK_PERL, join(adminDir, 'lock-frontend'), join(adminDir, 'lock')], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('locked\n')) resolve();
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before locking: ${err}`)));
    child.once('error', reject);
  });
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    child.stdin!.end();
    await exited;
  };
  t.after(release);
  return { pid: child.pid!, release };
}
