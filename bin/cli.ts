// The systemmanager CLI: argument parsing and help come from commander; each command lives in
// bin/commands/ and returns its exit code instead of calling process.exit, so tests can run it.

import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.ts';
import { registerOperator } from './commands/operator.ts';
import { registerServe } from './commands/serve.ts';
import { registerToken } from './commands/token.ts';
import { registerValidate } from './commands/validate.ts';

/** CliIO is where commands write; tests pass buffers. */
export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** color: whether to use ANSI colors (a terminal, and NO_COLOR unset). */
  color: boolean;
}

/** defaultIO writes to the process streams. */
export function defaultIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  };
}

/** main runs the CLI with argv (node, script, ...args) and resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = Math.max(exitCode, code);
  };
  const program = new Command()
    .name('systemmanager')
    .description('A secure MCP server for host management, built as a declarative reconciler.')
    .version(await packageVersion())
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  registerServe(program, io, setExit);
  registerValidate(program, io, setExit);
  registerToken(program, io, setExit);
  registerAudit(program, io, setExit);
  registerOperator(program, io, setExit);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    io.err(`error: ${(err as Error).message}\n`);
    return 1;
  }
  return exitCode;
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
