// `systemmanager audit verify|tail`: check the audit log's hash chain (exit 1 and the first broken
// line when it does not hold) and show its last lines. Both read the file only; neither needs the
// server to run.

import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { AUDIT_FILE, readTailLines, verifyAuditLog, type AuditRecord } from '../../controllers/audit/index.ts';
import type { CliIO } from '../cli.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 100_000) throw new InvalidArgumentError(`expected a whole number from 1 to 100000, got ${JSON.stringify(value)}`);
  return n;
}

/** registerAudit adds the audit command with its verify and tail subcommands. */
export function registerAudit(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const audit = program.command('audit').description('check and read the audit log (<state>/audit.log)');
  audit
    .command('verify')
    .description('check the hash chain of the audit log; exit 1 naming the first broken line')
    .option('--state <dir>', 'the state directory', '.systemmanager')
    .action(async (opts: { state: string }) => {
      const path = join(resolve(opts.state), AUDIT_FILE);
      const result = await verifyAuditLog(path);
      if (result.ok) {
        io.out(`ok: ${path}: ${result.lines} line${result.lines === 1 ? '' : 's'}, hash chain intact\n`);
        setExit(0);
      } else {
        io.out(`${io.color ? '\u001b[31mbroken\u001b[0m' : 'broken'}: ${path}: line ${result.line}: ${result.reason}\n`);
        setExit(1);
      }
    });
  audit
    .command('tail')
    .description('show the last lines of the audit log')
    .option('--state <dir>', 'the state directory', '.systemmanager')
    .option('-n, --lines <n>', 'how many lines', positiveInt, 20)
    .option('-o, --output <format>', 'output format: text or json (one JSON record per line)', 'text')
    .action(async (opts: { state: string; lines: number; output: string }) => {
      if (opts.output !== 'text' && opts.output !== 'json') {
        io.err(`error: --output must be text or json, not ${JSON.stringify(opts.output)}\n`);
        setExit(2);
        return;
      }
      const path = join(resolve(opts.state), AUDIT_FILE);
      let lines: string[];
      try {
        lines = (await readTailLines(path, opts.lines)).lines;
      } catch (err) {
        io.err(`error: cannot read ${path}: ${(err as Error).message}\n`);
        setExit(1);
        return;
      }
      for (const line of lines) {
        if (opts.output === 'json') {
          io.out(`${line}\n`);
          continue;
        }
        let r: AuditRecord;
        try {
          r = JSON.parse(line) as AuditRecord;
        } catch {
          io.out(`(unparseable line) ${line.slice(0, 200)}\n`);
          continue;
        }
        const who = r.identity ? [r.identity.agent, r.identity.tokenId && `token=${r.identity.tokenId}`, r.identity.tailscaleLogin && `tailscale=${r.identity.tailscaleLogin}`].filter(Boolean).join(' ') : '-';
        const fields = [r.time, r.outcome.padEnd(9), r.action, `by=${who}`, r.proposal && `proposal=${r.proposal}`, r.target && `target=${JSON.stringify(r.target)}`, r.scope && `scope=${r.scope}`, r.detail && `detail=${JSON.stringify(r.detail)}`];
        io.out(`${fields.filter(Boolean).join(' ')}\n`);
      }
    });
}
