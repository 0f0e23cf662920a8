// `systemmanager token mint|list|revoke`: AccessTokens as files in the manifests directory. mint
// prints the secret once and writes (or prints) the resource that holds only its hash; list reads
// the tokens the files declare; revoke sets `revoked: true` in the declaring file, in place.

import { stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { KINDS } from '../../resources/kinds.ts';
import { loadManifestFile, parseManifests, walkManifests } from '../../resources/manifests.ts';
import { writeFileAtomic } from '../../resources/persistence.ts';
import { validateResource } from '../../resources/validation.ts';
import { readManifestFile, stringifyManifest } from '../../resources/yaml-codec.ts';
import { mintToken, parseScopeList, parseTtl, TOKEN_ID_PATTERN, type AccessTokenSpec } from '../../controllers/token/index.ts';
import type { CliIO } from '../cli.ts';
import { DEFAULT_MANIFESTS } from './serve.ts';

const MINT_HELP = `
Output:
  stdout, line 1: the token (smt_<id>_<secret>), alone. It is shown once; only its hash is stored.
  With --write DIR: the resource goes to DIR/accesstoken-<name>.yaml (atomic write) and stdout holds
  nothing else. Without --write: stdout continues with the resource as a YAML document (after "---").
  Everything meant for people goes to stderr.

Examples:
  TOKEN=$(systemmanager token mint --agent claude --scopes readonly --write manifests/)
  systemmanager token mint --agent ci --scopes container:read --ttl 7d > minted.txt
    head -n 1 minted.txt          # the token
    tail -n +2 minted.txt         # the AccessToken manifest`;

/** TokenRow is one AccessToken as `token list` shows it. */
export interface TokenRow {
  name: string;
  id: string;
  agent: string;
  scopes: string[];
  expiresAt?: string;
  expired: boolean;
  revoked: boolean;
  file: string;
}

/** registerToken adds the token command group. */
export function registerToken(program: Command, io: CliIO, setExit: (code: number) => void, now: () => Date = () => new Date()): void {
  const token = program.command('token').description('mint, list and revoke AccessTokens (bearer tokens for MCP and REST clients)');

  token
    .command('mint')
    .description('mint a new token: print the secret once, and write or print its AccessToken resource')
    .requiredOption('--agent <name>', 'the agent (client) the token identifies; recorded in audit entries and proposals')
    .requiredOption('--scopes <list>', 'comma-separated scopes, e.g. readonly or container:read,container:write')
    .option('--ttl <duration>', 'lifetime: Ns, Nm, Nh, Nd, Nw, or "never"', '30d')
    .option('--write <dir>', 'write the resource into this (existing) manifests directory instead of printing it')
    .option('--name <name>', 'the resource name (default: <agent>-<id>, made a DNS-1123 label)')
    .addHelpText('after', MINT_HELP)
    .action(async (opts: { agent: string; scopes: string; ttl: string; write?: string; name?: string }) => {
      let scopes: string[];
      let ttlMs: number | undefined;
      try {
        scopes = parseScopeList(opts.scopes);
        ttlMs = parseTtl(opts.ttl);
      } catch (err) {
        io.err(`error: ${(err as Error).message}\n`);
        setExit(2);
        return;
      }
      const minted = mintToken({ agent: opts.agent, scopes, ttlMs, name: opts.name, now });
      const outcome = validateResource(minted.resource);
      if (!outcome.ok) {
        for (const issue of outcome.issues) io.err(`error: ${issue.pointer}: ${issue.message}\n`);
        setExit(2);
        return;
      }
      const header = `# yaml-language-server: $schema=${KINDS.AccessToken.schemaId}\n# Minted by "systemmanager token mint". Holds only a SHA-256 hash of the secret: safe to commit.`;
      const text = stringifyManifest([minted.resource], header);
      const name = minted.resource.metadata.name;
      const expiry = minted.resource.spec.expiresAt ? `expires ${minted.resource.spec.expiresAt}` : 'never expires';
      if (opts.write !== undefined) {
        const dir = resolve(opts.write);
        const info = await stat(dir).catch(() => undefined);
        if (!info?.isDirectory()) {
          io.err(`error: --write ${opts.write}: not an existing directory\n`);
          setExit(1);
          return;
        }
        const path = join(dir, `accesstoken-${name}.yaml`);
        if (await stat(path).catch(() => undefined)) {
          io.err(`error: ${path} already exists; choose another --name\n`);
          setExit(1);
          return;
        }
        await writeFileAtomic(path, text);
        io.out(`${minted.token}\n`);
        io.err(`AccessToken/${name} (id ${minted.id}, agent ${opts.agent}, ${expiry}) written to ${path}\n`);
      } else {
        io.out(`${minted.token}\n---\n${text}`);
        io.err(`AccessToken/${name} (id ${minted.id}, agent ${opts.agent}, ${expiry}): the token is line 1 of stdout, the manifest follows\n`);
      }
      io.err('The token is shown only this once; store it now. The manifest holds only its hash.\n');
    });

  token
    .command('list')
    .description('list the AccessTokens declared in the manifests directory, kubectl-style')
    .option('--manifests <dir>', 'the manifests directory', DEFAULT_MANIFESTS)
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .action(async (opts: { manifests: string; output: string }) => {
      if (opts.output !== 'text' && opts.output !== 'json') {
        io.err(`error: --output must be text or json, not ${JSON.stringify(opts.output)}\n`);
        setExit(2);
        return;
      }
      const found = await readTokens(opts.manifests, io, now);
      if (!found) {
        setExit(1);
        return;
      }
      if (opts.output === 'json') {
        io.out(`${JSON.stringify(found, null, 2)}\n`);
        return;
      }
      if (found.length === 0) {
        io.err(`No AccessTokens in ${opts.manifests}.\n`);
        return;
      }
      const rows = found.map((r) => [
        r.name,
        r.id,
        r.agent,
        r.scopes.join(','),
        r.expiresAt ? `${r.expiresAt}${r.expired ? ' (expired)' : ''}` : 'never',
        r.revoked ? 'true' : 'false',
      ]);
      io.out(table(['NAME', 'ID', 'AGENT', 'SCOPES', 'EXPIRES', 'REVOKED'], rows));
    });

  token
    .command('revoke')
    .description('set revoked: true on a token, in the manifest file that declares it (other content is kept)')
    .argument('<name-or-id>', 'the AccessToken name or its token id')
    .option('--manifests <dir>', 'the manifests directory', DEFAULT_MANIFESTS)
    .action(async (target: string, opts: { manifests: string }) => {
      const found = await readTokens(opts.manifests, io, now);
      if (!found) {
        setExit(1);
        return;
      }
      const matches = found.filter((r) => r.name === target || (TOKEN_ID_PATTERN.test(target) && r.id === target));
      if (matches.length === 0) {
        io.err(`error: NOT_FOUND: no AccessToken named or with id ${JSON.stringify(target)} in ${opts.manifests}\n`);
        setExit(1);
        return;
      }
      if (matches.length > 1) {
        io.err(`error: ${JSON.stringify(target)} matches ${matches.length} AccessTokens (${matches.map((m) => `${m.name} in ${m.file}`).join('; ')}); revoke each by its name\n`);
        setExit(1);
        return;
      }
      const row = matches[0]!;
      if (row.revoked) {
        io.err(`AccessToken/${row.name} is already revoked (${row.file})\n`);
        return;
      }
      try {
        await revokeInFile(resolve(opts.manifests, row.file), row.name);
      } catch (err) {
        io.err(`error: ${(err as Error).message}\n`);
        setExit(1);
        return;
      }
      io.err(`AccessToken/${row.name} (id ${row.id}) revoked in ${row.file}; a server watching this directory refuses it at once\n`);
    });
}

/** readTokens loads the AccessTokens the manifests directory declares; invalid files are reported on stderr and skipped. */
async function readTokens(dir: string, io: CliIO, now: () => Date): Promise<TokenRow[] | undefined> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    io.err(`error: --manifests ${dir}: not an existing directory\n`);
    return undefined;
  }
  const walked = await walkManifests([root]);
  const rows: TokenRow[] = [];
  for (const e of walked.errors) io.err(`warning: ${e.message}\n`);
  for (const file of walked.files) {
    const loaded = await loadManifestFile(file, { root, displayName: relative(root, file) });
    for (const e of loaded.errors) io.err(`warning: skipped: ${e.message}\n`);
    for (const r of loaded.resources) {
      if (r.resource.kind !== 'AccessToken') continue;
      const spec = r.resource.spec as unknown as AccessTokenSpec;
      const row: TokenRow = {
        name: r.resource.metadata.name,
        id: spec.id,
        agent: spec.agent,
        scopes: spec.scopes,
        ...(spec.expiresAt ? { expiresAt: spec.expiresAt } : {}),
        expired: spec.expiresAt !== undefined && Date.parse(spec.expiresAt) <= now().getTime(),
        revoked: spec.revoked === true,
        file: loaded.file,
      };
      rows.push(row);
    }
  }
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * revokeInFile sets spec.revoked on one AccessToken of a file through the yaml Document API, so the
 * file's comments and other documents survive, then checks the result still loads before writing.
 */
async function revokeInFile(path: string, name: string): Promise<void> {
  // Write through a symlink to the real file, never replace the link with a copy.
  const { text, realPath } = await readManifestFile(path);
  const docs = parseAllDocuments(text, { schema: 'core', merge: false, uniqueKeys: true });
  if (!Array.isArray(docs)) throw new Error(`${path}: cannot parse`);
  const target = docs.filter((d) => d.get('kind') === 'AccessToken' && d.getIn(['metadata', 'name']) === name);
  if (target.length !== 1) throw new Error(`${path}: AccessToken/${name} changed while being revoked; run the command again`);
  target[0]!.setIn(['spec', 'revoked'], true);
  const next = docs.map((d) => d.toString({ lineWidth: 0 })).join('');
  const check = parseManifests(next, path);
  const revoked = check.resources.find((r) => r.resource.kind === 'AccessToken' && r.resource.metadata.name === name);
  if (check.errors.length || (revoked?.resource.spec as { revoked?: boolean } | undefined)?.revoked !== true) {
    throw new Error(`${path}: the revoked file would not load (${check.errors.map((e) => e.message).join('; ') || 'token missing'}); nothing was written`);
  }
  const mode = (await stat(realPath)).mode & 0o777;
  await writeFileAtomic(realPath, next, { mode });
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ')}\n`;
  return [headers, ...rows].map(line).join('');
}
