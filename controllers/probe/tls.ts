// The tls probe: a TLS handshake, then the leaf certificate's expiry and, unless insecureSkipVerify,
// its chain and name. The handshake itself never rejects the certificate, so an expired or
// self-signed one still yields its dates: the message says both what is wrong and when it expires.

import { isIP } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import { describeError, PROBE_DEFAULTS, type ProbeContext, type ProbeOutcome, type TlsProbeSpec } from './spec.ts';

const DAY_MS = 86_400_000;

const VERIFY_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown issuer',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not match the host name',
};

/** probeTls checks the certificate served on host:port. */
export function probeTls(spec: TlsProbeSpec, ctx: ProbeContext, now: () => Date = () => new Date()): Promise<ProbeOutcome> {
  const port = spec.port ?? PROBE_DEFAULTS.tlsPort;
  const minDays = spec.minDaysValid ?? PROBE_DEFAULTS.tlsMinDaysValid;
  const target = `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${port}`;
  // SNI carries names only; for an IP host the certificate is checked against its IP SANs.
  const serverName = spec.serverName ?? (isIP(spec.host) ? undefined : spec.host);
  return new Promise<ProbeOutcome>((resolve) => {
    let settled = false;
    const socket = connect({ host: spec.host, port, ...(serverName ? { servername: serverName.replace(/\.$/, '') } : {}), rejectUnauthorized: false });
    const finish = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ success: false, message: `tls ${target}: ${describeError(ctx.signal.reason, ctx.signal, ctx.timeoutMs)}` });
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (err) => finish({ success: false, message: `tls ${target}: ${describeError(err)}` }));
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      if (!cert || !cert.valid_to) return finish({ success: false, message: `tls ${target}: the server sent no certificate` });
      const notAfter = new Date(cert.valid_to);
      const days = Math.round(((notAfter.getTime() - now().getTime()) / DAY_MS) * 100) / 100;
      const expiry = days < 0 ? `expired ${Math.abs(days).toFixed(1)} days ago (${notAfter.toISOString()})` : `expires in ${days.toFixed(1)} days (${notAfter.toISOString()})`;
      const problems: string[] = [];
      if (!spec.insecureSkipVerify && !socket.authorized) {
        const code = String(socket.authorizationError ?? 'unknown error');
        problems.push(`certificate verification failed: ${VERIFY_ERRORS[code] ?? code}`);
      }
      if (days < 0) problems.push('the certificate has expired');
      else if (days < minDays) problems.push(`fewer than minDaysValid ${minDays} days left`);
      const unique = [...new Set(problems)];
      finish({ success: unique.length === 0, message: `tls ${target}: ${unique.length ? `${unique.join('; ')}; ` : ''}certificate ${expiry}`, daysUntilExpiry: days });
    });
  });
}
