// The tcp probe: succeeds when a TCP connection to host:port opens; the connection is closed at once.

import { connect } from 'node:net';
import { describeError, type ProbeContext, type ProbeOutcome, type TcpProbeSpec } from './spec.ts';

/** probeTcp opens and closes one TCP connection. */
export function probeTcp(spec: TcpProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  const target = `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
  return new Promise<ProbeOutcome>((resolve) => {
    const socket = connect({ host: spec.host, port: spec.port });
    const finish = (outcome: ProbeOutcome) => {
      ctx.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ success: false, message: `connect ${target}: ${describeError(ctx.signal.reason, ctx.signal, ctx.timeoutMs)}` });
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ success: true, message: `connected to ${target}` }));
    socket.once('error', (err) => finish({ success: false, message: `connect ${target}: ${describeError(err)}` }));
  });
}
