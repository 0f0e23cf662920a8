// The exec probe: runs a program with an argument array (never a shell) and succeeds on exit code 0.
// Output is read only to explain a result: the first 4 KiB of each stream, the rest is discarded so
// a chatty command cannot grow memory.

import { spawn } from 'node:child_process';
import { describeError, type ExecProbeSpec, type ProbeContext, type ProbeOutcome } from './spec.ts';

/** EXEC_OUTPUT_LIMIT is how many bytes of stdout and of stderr an exec probe keeps. */
export const EXEC_OUTPUT_LIMIT = 4096;

/** probeExec runs the command once; the probe's signal kills it (SIGKILL) when the timeout passes. */
export function probeExec(spec: ExecProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  const [file, ...args] = spec.command;
  if (!file) return Promise.resolve({ success: false, message: 'exec: the command is empty' });
  return new Promise<ProbeOutcome>((resolve) => {
    let settled = false;
    const out = { stdout: '', stderr: '' };
    const finish = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    let child;
    try {
      child = spawn(file, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'], signal: ctx.signal, killSignal: 'SIGKILL', windowsHide: true });
    } catch (err) {
      finish({ success: false, message: `exec ${file}: ${describeError(err)}` });
      return;
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => {
        if (out[stream].length < EXEC_OUTPUT_LIMIT) out[stream] += chunk.slice(0, EXEC_OUTPUT_LIMIT - out[stream].length);
      });
    }
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (ctx.signal.aborted) return finish({ success: false, message: `exec ${file}: ${describeError(ctx.signal.reason, ctx.signal, ctx.timeoutMs)}; killed` });
      if (err.code === 'ENOENT') return finish({ success: false, message: `exec ${file}: command not found` });
      if (err.code === 'EACCES') return finish({ success: false, message: `exec ${file}: permission denied (not executable)` });
      finish({ success: false, message: `exec ${file}: ${describeError(err)}` });
    });
    child.once('close', (code, signal) => {
      if (ctx.signal.aborted) return finish({ success: false, message: `exec ${file}: ${describeError(ctx.signal.reason, ctx.signal, ctx.timeoutMs)}; killed` });
      const detail = firstLine(out.stderr) || firstLine(out.stdout);
      if (code === 0) return finish({ success: true, message: `exec ${file}: exit code 0${detail ? `: ${detail}` : ''}` });
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      finish({ success: false, message: `exec ${file}: ${how}${detail ? `: ${detail}` : ''}` });
    });
  });
}

function firstLine(text: string): string {
  const line = text.trim().split('\n', 1)[0] ?? '';
  return line.length > 512 ? `${line.slice(0, 511)}…` : line;
}
