// The http probe: one request, no redirects followed, TLS verified unless insecureSkipVerify.
// Decisions: a 3xx answer is judged by its own status (200-399 succeed by default, as the schema
// says) and its Location is only reported, never followed, so a probe cannot silently end up on
// another host. Every probe opens a fresh connection (no keep-alive pool), so a result always
// reflects connecting now, as the blackbox exporter does. The body is read up to 1 MiB and the
// rest discarded; bodyRegex runs in a vm context with a time limit, because a JavaScript regex
// cannot otherwise be interrupted and one catastrophic pattern would stall every probe.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createContext, Script } from 'node:vm';
import { describeError, type HttpProbeSpec, type ProbeContext, type ProbeOutcome } from './spec.ts';

/** HTTP_BODY_LIMIT is how much of a response body is read (and matched against bodyRegex). */
export const HTTP_BODY_LIMIT = 1024 * 1024;
/** REGEX_TIME_LIMIT_MS bounds one bodyRegex match; a slower match fails the probe. */
export const REGEX_TIME_LIMIT_MS = 100;

const TLS_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate verification failed: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate verification failed: self-signed certificate in the chain',
  CERT_HAS_EXPIRED: 'certificate verification failed: the certificate has expired',
  CERT_NOT_YET_VALID: 'certificate verification failed: the certificate is not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate verification failed: unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate verification failed: unknown issuer',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate verification failed: the certificate does not match the host name',
};

/** probeHttp sends one request and judges the status code and, if set, the body. */
export function probeHttp(spec: HttpProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    return Promise.resolve({ success: false, message: `invalid URL ${JSON.stringify(spec.url)}` });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.resolve({ success: false, message: `unsupported URL scheme ${url.protocol.replace(/:$/, '')}: only http and https are probed` });
  }
  let regex: RegExp | undefined;
  if (spec.bodyRegex !== undefined) {
    try {
      regex = new RegExp(spec.bodyRegex);
    } catch (err) {
      return Promise.resolve({ success: false, message: `bodyRegex is not a valid regular expression: ${(err as Error).message}` });
    }
  }
  const method = spec.method ?? 'GET';
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<ProbeOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const fail = (err: unknown) => finish({ success: false, message: `${method} ${spec.url}: ${describeHttpError(err, ctx)}` });
    const req = send(url, {
      method,
      headers: { 'user-agent': 'systemmanager-probe', connection: 'close', ...spec.headers },
      signal: ctx.signal,
      agent: false,
      rejectUnauthorized: !spec.insecureSkipVerify,
    });
    req.once('error', fail);
    req.once('response', (res) => {
      readBody(res, method === 'HEAD' || regex === undefined ? 0 : HTTP_BODY_LIMIT).then((body) => finish(judge(spec, method, res, body, regex)), fail);
    });
    if (spec.body !== undefined && method !== 'GET' && method !== 'HEAD') req.end(spec.body);
    else req.end();
  });
}

function judge(spec: HttpProbeSpec, method: string, res: IncomingMessage, body: Buffer, regex: RegExp | undefined): ProbeOutcome {
  const status = res.statusCode ?? 0;
  const location = status >= 300 && status < 400 && typeof res.headers.location === 'string' ? ` (redirect to ${res.headers.location.slice(0, 256)} not followed)` : '';
  const expected = spec.expectStatus ? spec.expectStatus.includes(status) : status >= 200 && status <= 399;
  const head = `HTTP ${status}${location}`;
  if (!expected) {
    const want = spec.expectStatus ? spec.expectStatus.join(', ') : '200-399';
    return { success: false, message: `${method} ${spec.url}: ${head}, expected ${want}` };
  }
  if (regex) {
    const matched = matchWithTimeLimit(regex, body.toString('utf8'));
    if (matched === 'timeout') return { success: false, message: `${method} ${spec.url}: ${head}, but bodyRegex took longer than ${REGEX_TIME_LIMIT_MS} ms and was stopped` };
    if (!matched) return { success: false, message: `${method} ${spec.url}: ${head}, but the body does not match /${spec.bodyRegex}/` };
  }
  return { success: true, message: `${method} ${spec.url}: ${head}` };
}

/** readBody keeps the first `limit` bytes and discards the rest without keeping it in memory. */
function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size >= limit) {
        // Enough read: stop the transfer rather than download a large body only to drop it.
        res.destroy();
        resolve(Buffer.concat(chunks, size));
        return;
      }
      const take = chunk.subarray(0, limit - size);
      chunks.push(take);
      size += take.length;
    });
    res.once('end', () => resolve(Buffer.concat(chunks, size)));
    res.once('error', (err) => (size >= limit ? resolve(Buffer.concat(chunks, size)) : reject(err)));
    res.once('close', () => resolve(Buffer.concat(chunks, size)));
  });
}

// One context and one compiled script serve every match; only the two globals change.
const regexContext = createContext(Object.create(null) as object);
const regexScript = new Script('re.test(s)');

/** matchWithTimeLimit runs `regex` against `text`, interrupting it after REGEX_TIME_LIMIT_MS. */
export function matchWithTimeLimit(regex: RegExp, text: string, timeLimitMs = REGEX_TIME_LIMIT_MS): boolean | 'timeout' {
  const ctx = regexContext as { re?: RegExp; s?: string };
  ctx.re = new RegExp(regex.source, regex.flags.replace('g', '').replace('y', ''));
  ctx.s = text;
  try {
    return regexScript.runInContext(regexContext, { timeout: timeLimitMs }) === true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw err;
  } finally {
    ctx.re = undefined;
    ctx.s = undefined;
  }
}

function describeHttpError(err: unknown, ctx: ProbeContext): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && TLS_ERRORS[code]) return TLS_ERRORS[code];
  if (err instanceof Error && err.name === 'AbortError' && ctx.signal.aborted) return describeError(ctx.signal.reason, ctx.signal, ctx.timeoutMs);
  return describeError(err, ctx.signal, ctx.timeoutMs);
}
