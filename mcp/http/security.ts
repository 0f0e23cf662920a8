// The HTTP guards every request to the agent passes (REST API, /mcp, the approvals page): Host and
// Origin validation against DNS rebinding, bearer-token authentication (header only, never the
// query string), Tailscale identity headers trusted only from trusted proxies, a per-token rate
// limit, and a body size limit. Failures are JSON `{ code, message }` with the stable codes of
// resources/errors.ts, so the CLI and the MCP layer can show them the same way.

import type { IncomingHttpHeaders } from 'node:http';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ForbiddenScopeError, SystemManagerError } from '../../resources/errors.ts';
import type { Identity, Principal, TokenFailure, TokenVerifier } from '../../resources/identity.ts';
import type { Scope } from '../../resources/scopes.ts';
import type { AuditEntry } from '../../controllers/audit/types.ts';

/** DEFAULT_BODY_LIMIT_BYTES is the request body limit when none is configured: 1 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** DEFAULT_RATE_LIMIT_PER_MINUTE is the per-token request budget when none is configured. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
/** DEFAULT_TRUSTED_PROXIES are the addresses `tailscale serve` proxies from: loopback. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['127.0.0.1', '::1'];
/** REALM is the realm of every WWW-Authenticate challenge. */
export const REALM = 'systemmanager';

/**
 * SecurityAudit is where denials go: the audit log (controllers/audit). Kept to the one method the
 * guards need so they do not depend on how the log stores lines.
 */
export interface SecurityAudit {
  append(entry: AuditEntry): unknown;
}

/** HttpSecurityOptions configure the guards; one object is shared by every guard of a listener. */
export interface HttpSecurityOptions {
  /** tokens verifies bearer tokens: the agent's token index (controllers/token). */
  tokens: TokenVerifier;
  /**
   * allowedHosts are the Host header values accepted. An entry with a port matches exactly; one
   * without (a tailnet name) matches any port. A function is read on every request, so the agent can
   * include the port it learns only after listening on port 0.
   */
  allowedHosts: readonly string[] | (() => readonly string[]);
  /** allowedOrigins are browser Origins accepted besides the server's own; requests without Origin always pass this check. */
  allowedOrigins?: readonly string[];
  /** trustedProxies: remote addresses whose Tailscale-User-Login/-Name headers are believed (default loopback). */
  trustedProxies?: readonly string[];
  /** bodyLimitBytes: larger bodies get 413 (default 1 MiB). */
  bodyLimitBytes?: number;
  /** rateLimitPerMinute: requests per token per minute before 429 (default 600). */
  rateLimitPerMinute?: number;
  /** audit receives every denial. */
  audit?: SecurityAudit;
  /** now: the clock of the rate limiter, in milliseconds (tests). */
  now?: () => number;
}

/** defaultAllowedHosts lists the loopback names with `port`, plus extra names (tailnet names) that match any port. */
export function defaultAllowedHosts(port: number, extra: readonly string[] = []): string[] {
  return [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, ...extra];
}

/** hostOriginGuard refuses a Host that is not allowed (403 FORBIDDEN_HOST) and a browser Origin that is neither the server itself nor allowed (403 FORBIDDEN_ORIGIN). */
export function hostOriginGuard(opts: HttpSecurityOptions): RequestHandler {
  return (req, res, next) => {
    const host = (req.headers.host ?? '').toLowerCase();
    const allowed = typeof opts.allowedHosts === 'function' ? opts.allowedHosts() : opts.allowedHosts;
    if (!hostAllowed(host, allowed)) {
      deny(opts, req, res, new SystemManagerError('FORBIDDEN_HOST', `the Host header ${JSON.stringify(req.headers.host ?? '')} is not one this server answers for; add it with serve --allowed-host`), 'host');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, host, opts.allowedOrigins ?? [])) {
      deny(opts, req, res, new SystemManagerError('FORBIDDEN_ORIGIN', `requests from the origin ${JSON.stringify(origin)} are not allowed`), 'origin');
      return;
    }
    next();
  };
}

function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (host === '') return false;
  const name = hostName(host);
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || (!hasPort(e) && e === name);
  });
}

function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function hasPort(host: string): boolean {
  return host.startsWith('[') ? host.includes(']:') : host.includes(':');
}

function originAllowed(origin: string, host: string, allowedOrigins: readonly string[]): boolean {
  if (allowedOrigins.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null` (sandboxed frames, file://) and junk
  }
  // Same origin: the page was served by this very Host, which the Host check already allowed.
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host && url.origin === origin;
}

const QUERY_TOKEN_KEYS = new Set(['access_token', 'token', 'bearer', 'authorization']);

/**
 * bearerAuth authenticates `Authorization: Bearer smt_…` and sets `res.locals.principal`. A token in
 * the query string is refused (400 TOKEN_IN_QUERY) even when a valid header is also present, so a
 * leaked URL never works. Tailscale identity headers are merged only from trusted proxies, and only
 * add to the token's identity: they never authenticate by themselves.
 */
export function bearerAuth(opts: HttpSecurityOptions): RequestHandler {
  const trusted = new Set((opts.trustedProxies ?? DEFAULT_TRUSTED_PROXIES).map(normalizeAddress));
  return (req, res, next) => {
    if (tokenInQuery(req.originalUrl)) {
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="invalid_request", error_description="tokens are accepted only in the Authorization header"`);
      deny(opts, req, res, new SystemManagerError('TOKEN_IN_QUERY', 'a bearer token was sent in the URL query string; it is never accepted there (send it as Authorization: Bearer, and revoke this one: URLs end up in logs)'), 'token in query');
      return;
    }
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
    const bearer = m?.[1];
    const result = bearer === undefined ? ({ ok: false, reason: (header === undefined ? 'missing' : 'malformed') as TokenFailure } as const) : opts.tokens.verify(bearer);
    if (!result.ok) {
      // RFC 6750 §3.1: no error code when the request carried no credentials at all.
      res.setHeader('WWW-Authenticate', result.reason === 'missing' ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`);
      const message = result.reason === 'missing' ? 'authentication required: send Authorization: Bearer <token>' : 'the bearer token is invalid, expired or revoked';
      deny(opts, req, res, new SystemManagerError('UNAUTHENTICATED', message), `token ${result.reason}`);
      return;
    }
    const identity: Identity = { ...result.principal.identity };
    if (trusted.has(normalizeAddress(req.socket.remoteAddress ?? ''))) {
      const login = tailscaleHeader(req.headers, 'tailscale-user-login', 320);
      const name = tailscaleHeader(req.headers, 'tailscale-user-name', 256);
      if (login) identity.tailscaleLogin = login;
      if (name) identity.tailscaleName = name;
    }
    const principal: Principal = { identity, scopes: result.principal.scopes };
    res.locals.principal = principal;
    next();
  };
}

function tokenInQuery(url: string): boolean {
  const q = url.indexOf('?');
  if (q < 0) return false;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const [key, value] of params) {
    if (QUERY_TOKEN_KEYS.has(key.toLowerCase()) || value.includes('smt_')) return true;
  }
  return false;
}

function tailscaleHeader(headers: IncomingHttpHeaders, name: string, max: number): string | undefined {
  const v = headers[name];
  // A repeated or oversized header, or one with control characters, is not something tailscale sends.
  if (typeof v !== 'string' || v.length === 0 || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) return undefined;
  return v;
}

function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/**
 * rateLimit allows each token `rateLimitPerMinute` requests in any minute (a token bucket refilled
 * continuously) and answers 429 RATE_LIMITED with Retry-After beyond that. It runs after bearerAuth:
 * unauthenticated requests are refused before they cost a bucket.
 */
export function rateLimit(opts: HttpSecurityOptions): RequestHandler {
  const capacity = Math.max(1, opts.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE);
  const perMs = capacity / 60_000;
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    const key = principal?.identity.tokenId ?? principal?.identity.agent ?? `addr:${req.socket.remoteAddress ?? ''}`;
    const t = now();
    const b = buckets.get(key) ?? { tokens: capacity, at: t };
    b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs);
    b.at = t;
    if (b.tokens < 1) {
      buckets.set(key, b);
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000))));
      deny(opts, req, res, new SystemManagerError('RATE_LIMITED', `more than ${capacity} requests per minute with this token; slow down`), 'rate limited');
      return;
    }
    b.tokens -= 1;
    buckets.delete(key); // re-insert: the Map's first key stays the least recently used
    buckets.set(key, b);
    if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value!);
    next();
  };
}

/**
 * jsonBody parses `application/json` bodies up to the limit. Too large is 413 PAYLOAD_TOO_LARGE and
 * unparseable is 400 BAD_REQUEST, both as JSON errors; other content types are left unread.
 */
export function jsonBody(opts: Pick<HttpSecurityOptions, 'bodyLimitBytes'>): RequestHandler {
  return wrapParser(express.json({ limit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, strict: true }));
}

/** yamlBody reads `application/yaml` (and the older yaml types) bodies as text up to the limit, for the YAML codec to parse. */
export function yamlBody(opts: Pick<HttpSecurityOptions, 'bodyLimitBytes'>): RequestHandler {
  return wrapParser(express.text({ limit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, type: ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'] }));
}

function wrapParser(parser: RequestHandler): RequestHandler {
  return (req, res, next) => {
    parser(req, res, (err?: unknown) => {
      if (err === undefined || err === null) return next();
      sendError(res, bodyError(err));
    });
  };
}

function bodyError(err: unknown): SystemManagerError {
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  if (e.type === 'entity.too.large' || e.status === 413) return new SystemManagerError('PAYLOAD_TOO_LARGE', `the request body is larger than the ${e.limit ?? DEFAULT_BODY_LIMIT_BYTES}-byte limit`);
  if (e.status === 415) return new SystemManagerError('UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported body encoding');
  return new SystemManagerError('BAD_REQUEST', `the request body cannot be read: ${e.message ?? String(err)}`);
}

/** principalOf returns the authenticated caller; it throws UNAUTHENTICATED when bearerAuth did not run (a wiring bug fails closed). */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new SystemManagerError('UNAUTHENTICATED', 'authentication required: send Authorization: Bearer <token>');
  return p;
}

/** requireScope throws ForbiddenScopeError (403, insufficient_scope) unless the caller holds `scope`. */
export function requireScope(res: Response, scope: Scope, action?: string): void {
  if (!principalOf(res).scopes.has(scope)) throw new ForbiddenScopeError(scope, action);
}

/**
 * sendError writes an error as JSON `{ code, message, ... }` with its status. Errors without a
 * stable code are reported as 500 without their message, which may hold internals.
 */
export function sendError(res: Response, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof ForbiddenScopeError) {
    res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${err.scope}"`);
  }
  if (err instanceof SystemManagerError) {
    res.status(err.httpStatus).json(err.toJSON());
    return;
  }
  const code = (err as { code?: unknown })?.code;
  const status = (err as { httpStatus?: unknown })?.httpStatus;
  // Errors from sibling folders that follow the same convention but are not SystemManagerErrors.
  if (typeof code === 'string' && typeof status === 'number' && /^[A-Z_]+$/.test(code)) {
    res.status(status).json({ code, message: (err as Error).message });
    return;
  }
  res.status(500).json({ code: 'INTERNAL', message: 'internal server error' });
}

/** jsonErrorHandler is the express error handler that answers with sendError; mount it last. */
export function jsonErrorHandler(onUnexpected?: (err: unknown, req: Request) => void): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (!(err instanceof SystemManagerError) && typeof (err as { code?: unknown })?.code !== 'string') onUnexpected?.(err, req);
    const parserError = (err as { type?: string })?.type;
    sendError(res, typeof parserError === 'string' && parserError.startsWith('entity.') ? bodyError(err) : err);
  };
}

function deny(opts: HttpSecurityOptions, req: Request, res: Response, err: SystemManagerError, reason: string): void {
  try {
    // Requests over the rate limit are not audited one by one: a flood must not become a flood of fsyncs.
    const written = err.code === 'RATE_LIMITED' ? undefined : opts.audit?.append({
      action: 'access.denied',
      outcome: 'denied',
      target: `${req.method} ${req.path}`,
      detail: `${err.code}: ${reason} (from ${req.socket.remoteAddress ?? 'unknown'})`,
      ...(res.locals.principal ? { identity: (res.locals.principal as Principal).identity } : {}),
    });
    if (written instanceof Promise) written.catch(() => {});
  } catch {
    // The request is refused either way; a broken audit sink must not turn a 401 into a 500.
  }
  sendError(res, err);
}
