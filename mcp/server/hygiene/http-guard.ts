// The SSRF guard of http_request_test. Each hop (the first URL and every redirect) is checked the
// same way: http or https only, no credentials in the URL, the name resolved once, every address it
// resolved to judged by the AddressPolicy, and the connection then made by the guard itself to the
// checked address — the HTTP client never resolves anything, so a name that answers differently the
// second time (DNS rebinding) cannot move the request. The resolver and the connector are injected:
// tests pass ones that fail on any non-loopback address, so a broken guard fails a test instead of
// sending traffic off the machine.

import { lookup as dnsLookup } from 'node:dns/promises';
import { request, type IncomingMessage } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ToolError } from '../framework.ts';
import type { AddressPolicy } from './addresses.ts';
import { hostKind } from './hosts.ts';

/** ResolvedAddress is one address a name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolver resolves a host name to all its addresses (once per hop). */
export type Resolver = (hostname: string, signal: AbortSignal) => Promise<ResolvedAddress[]>;

/** Connector opens a TCP connection to an address the guard has already checked. */
export type Connector = (target: { address: string; family: 4 | 6; port: number; hostname: string }, signal: AbortSignal) => Socket;

/** systemResolver resolves through the system's resolver (getaddrinfo: /etc/hosts, then DNS). */
export const systemResolver: Resolver = async (hostname) => {
  const all = await dnsLookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** directConnector connects to the checked address; its lookup can only ever return that address. */
export const directConnector: Connector = (target) =>
  netConnect({
    host: target.address,
    port: target.port,
    family: target.family,
    lookup: (_name, _opts, cb) => (cb as (err: null, address: string, family: number) => void)(null, target.address, target.family),
  });

/** Hop is one request of a chain of redirects. */
export interface Hop {
  url: string;
  address: string;
  status: number;
  location?: string;
}

/** GuardedRequestOptions configure guardedRequest. */
export interface GuardedRequestOptions {
  method: 'GET' | 'HEAD' | 'OPTIONS';
  policy: AddressPolicy;
  resolve: Resolver;
  connect: Connector;
  timeoutMs: number;
  maxBodyBytes: number;
  followRedirects: boolean;
  maxRedirects: number;
  verifyTls: boolean;
  signal: AbortSignal;
}

/** GuardedResponse is the outcome of the last hop, with the chain and the timing of that hop. */
export interface GuardedResponse {
  url: string;
  status: number;
  statusText: string;
  httpVersion: string;
  headers: Record<string, string>;
  hops: Hop[];
  timing: { dnsMs: number; connectMs: number; tlsMs?: number; firstByteMs: number; totalMs: number };
  bodyBytes: number;
  bodyTruncated: boolean;
  bodyPreview: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const SHOWN_HEADERS = ['content-type', 'content-length', 'server', 'location', 'cache-control', 'date', 'strict-transport-security'];
const PREVIEW_CHARS = 1024;

/** checkUrl parses a URL a hop may request, or throws URL_INVALID saying why not. */
export function checkUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = base ? new URL(raw, base) : new URL(raw);
  } catch {
    throw new ToolError('URL_INVALID', `refused ${JSON.stringify(raw.slice(0, 200))}: not an absolute URL`);
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ToolError('URL_INVALID', `refused ${shown}: only http and https URLs are allowed, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw new ToolError('URL_INVALID', `refused ${shown}: URLs with credentials (user:password@) are not allowed`);
  if (!url.hostname) throw new ToolError('URL_INVALID', `refused ${shown}: the URL names no host`);
  return url;
}

const ms = (from: bigint, to: bigint) => Math.round(Number(to - from) / 1e4) / 100;

/**
 * guardedRequest runs a request through the guard, following redirects (each re-checked) when
 * asked. Refusals throw URL_INVALID or ADDRESS_BLOCKED; network failures HTTP_REQUEST_FAILED.
 */
export async function guardedRequest(rawUrl: string, o: GuardedRequestOptions): Promise<GuardedResponse> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, deadline]);
  const hops: Hop[] = [];
  let url = checkUrl(rawUrl);
  for (;;) {
    const t0 = process.hrtime.bigint();
    const from = hops.at(-1)?.url;
    const target = await checkTarget(url, o, signal).catch((err: unknown) => {
      if (from && err instanceof ToolError) throw new ToolError(err.code, `redirect from ${from}: ${err.message}`, { cause: err });
      throw err;
    });
    const dnsMs = ms(t0, process.hrtime.bigint());
    const result = await oneHop(url, target, o, signal, deadline).catch((err: unknown) => {
      if (err instanceof ToolError) throw err;
      const why = deadline.aborted ? `no answer within ${o.timeoutMs} ms` : (err as Error).message;
      throw new ToolError('HTTP_REQUEST_FAILED', `${o.method} ${url.href} (${target.address}) failed: ${why}`, { cause: err });
    });
    result.timing = { ...result.timing, dnsMs, totalMs: Math.round((result.timing.totalMs + dnsMs) * 100) / 100 };
    const location = result.headers.location;
    hops.push({ url: url.href, address: target.address, status: result.status, ...(location ? { location } : {}) });
    if (!o.followRedirects || !REDIRECTS.has(result.status) || !location) return { ...result, url: url.href, hops };
    if (hops.length > o.maxRedirects) throw new ToolError('HTTP_REQUEST_FAILED', `${rawUrl}: more than ${o.maxRedirects} redirects`);
    try {
      url = checkUrl(location, url);
    } catch (err) {
      throw new ToolError((err as ToolError).code, `redirect from ${url.href}: ${(err as Error).message}`);
    }
  }
}

async function checkTarget(url: URL, o: GuardedRequestOptions, signal: AbortSignal): Promise<ResolvedAddress & { hostname: string; port: number }> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  let addresses: ResolvedAddress[];
  const literal = isIP(hostname);
  if (literal) addresses = [{ address: hostname, family: literal === 6 ? 6 : 4 }];
  else {
    if (hostKind(hostname) !== 'hostname') throw new ToolError('URL_INVALID', `refused ${url.href}: ${JSON.stringify(hostname)} is not a valid host name`);
    try {
      addresses = await o.resolve(hostname, signal);
    } catch (err) {
      throw new ToolError('HTTP_REQUEST_FAILED', `cannot resolve ${hostname}: ${(err as Error).message}`, { cause: err });
    }
    if (addresses.length === 0) throw new ToolError('HTTP_REQUEST_FAILED', `${hostname} resolved to no address`);
  }
  // Every address counts, not only the first: a name that also resolves to a blocked address is refused.
  for (const a of addresses) {
    const reason = o.policy.refusal(hostname, a.address);
    if (reason) {
      const via = literal ? '' : `${hostname} resolves to ${a.address}, `;
      throw new ToolError('ADDRESS_BLOCKED', `refused ${url.protocol}//${url.host}/: ${via}${literal ? `${a.address} is ` : ''}${reason}; it is not in the server's httpAllowlist`);
    }
  }
  return { ...addresses[0]!, hostname, port };
}

interface HopResult {
  status: number;
  statusText: string;
  httpVersion: string;
  headers: Record<string, string>;
  timing: GuardedResponse['timing'];
  bodyBytes: number;
  bodyTruncated: boolean;
  bodyPreview: string;
}

function oneHop(url: URL, target: ResolvedAddress & { hostname: string; port: number }, o: GuardedRequestOptions, signal: AbortSignal, deadline: AbortSignal): Promise<HopResult> {
  return new Promise<HopResult>((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let tConnect = t0;
    let tTls: bigint | undefined;
    let tFirst = t0;
    let socket: Socket;
    try {
      socket = o.connect({ address: target.address, family: target.family, port: target.port, hostname: target.hostname }, signal);
    } catch (err) {
      reject(err);
      return;
    }
    let stream: Socket | TLSSocket = socket;
    const fail = (err: Error) => {
      stream.destroy();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(deadline.aborted ? new Error(`no answer within ${o.timeoutMs} ms`) : new Error('the call was cancelled'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => signal.removeEventListener('abort', onAbort);
    socket.once('error', (err) => {
      cleanup();
      fail(err);
    });
    const send = () => {
      const req = request({
        method: o.method,
        path: `${url.pathname}${url.search}`,
        headers: { host: url.host, 'user-agent': 'systemmanager-http-test/1', accept: '*/*', connection: 'close' },
        createConnection: () => stream,
      });
      req.once('error', (err) => {
        cleanup();
        fail(err);
      });
      req.once('response', (res: IncomingMessage) => {
        tFirst = process.hrtime.bigint();
        let bodyBytes = 0;
        let truncated = false;
        const preview: Buffer[] = [];
        let previewBytes = 0;
        const done = () => {
          cleanup();
          const tEnd = process.hrtime.bigint();
          const headers: Record<string, string> = {};
          for (const h of SHOWN_HEADERS) {
            const v = res.headers[h];
            if (v !== undefined) headers[h] = (Array.isArray(v) ? v.join(', ') : v).slice(0, 500);
          }
          stream.destroy();
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            httpVersion: res.httpVersion,
            headers,
            timing: {
              dnsMs: 0,
              connectMs: ms(t0, tConnect),
              ...(tTls ? { tlsMs: ms(tConnect, tTls) } : {}),
              firstByteMs: ms(tTls ?? tConnect, tFirst),
              totalMs: ms(t0, tEnd),
            },
            bodyBytes,
            bodyTruncated: truncated,
            bodyPreview: Buffer.concat(preview).toString('utf8').slice(0, PREVIEW_CHARS),
          });
        };
        res.on('data', (chunk: Buffer) => {
          if (truncated) return;
          const room = o.maxBodyBytes - bodyBytes;
          const take = chunk.length > room ? chunk.subarray(0, room) : chunk;
          bodyBytes += take.length;
          if (previewBytes < PREVIEW_CHARS * 4) {
            preview.push(take.subarray(0, PREVIEW_CHARS * 4 - previewBytes));
            previewBytes += Math.min(take.length, PREVIEW_CHARS * 4 - previewBytes);
          }
          if (chunk.length > room) {
            truncated = true;
            res.destroy();
            done();
          }
        });
        res.once('end', () => {
          if (!truncated) done();
        });
        res.once('error', (err) => {
          if (!truncated) {
            cleanup();
            fail(err);
          }
        });
      });
      req.end();
    };
    socket.once('connect', () => {
      tConnect = process.hrtime.bigint();
      if (url.protocol !== 'https:') return send();
      const tls = tlsConnect({
        socket,
        ...(isIP(target.hostname) ? {} : { servername: target.hostname }),
        rejectUnauthorized: o.verifyTls,
        ALPNProtocols: ['http/1.1'],
      });
      stream = tls;
      tls.once('error', (err) => {
        cleanup();
        fail(err);
      });
      tls.once('secureConnect', () => {
        tTls = process.hrtime.bigint();
        send();
      });
    });
  });
}
