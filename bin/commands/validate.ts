// `systemmanager validate PATH...`: the check a GitOps repo runs in its own CI. Exit 0 when every
// manifest is valid, 1 otherwise; human output by default, `-o json` for machines.

import type { Command } from 'commander';
import { validatePaths } from '../../resources/manifests.ts';
import type { CliIO } from '../cli.ts';

/** registerValidate adds the validate command. */
export function registerValidate(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('validate')
    .description('validate manifest files or directories (recursively) against the schemas, as the server would load them')
    .argument('<paths...>', 'files or directories of *.yaml / *.yml manifests')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .action(async (paths: string[], opts: { output: string }) => {
      if (opts.output !== 'text' && opts.output !== 'json') {
        io.err(`error: --output must be text or json, not ${JSON.stringify(opts.output)}\n`);
        setExit(2);
        return;
      }
      const report = await validatePaths(paths);
      const valid = report.errors.length === 0 && report.files > 0;
      if (opts.output === 'json') {
        io.out(`${JSON.stringify({ valid, files: report.files, resources: report.resources, errors: report.errors.map((e) => e.toJSON()) }, null, 2)}\n`);
      } else {
        const red = (t: string) => (io.color ? `\u001b[31m${t}\u001b[0m` : t);
        const green = (t: string) => (io.color ? `\u001b[32m${t}\u001b[0m` : t);
        for (const e of report.errors) io.out(`${red('error')} ${e.message}\n`);
        if (report.files === 0) io.out(`${red('error')} no *.yaml or *.yml files found in ${paths.join(', ')}\n`);
        const summary = `${report.files} file${report.files === 1 ? '' : 's'}, ${report.resources} resource${report.resources === 1 ? '' : 's'}`;
        io.out(valid ? `${green('valid')}: ${summary}\n` : `${red('invalid')}: ${report.errors.length} error${report.errors.length === 1 ? '' : 's'} in ${summary}\n`);
      }
      setExit(valid ? 0 : 1);
    });
}
