// The MCP transports. stdio: one server for the local user. Streamable HTTP at /mcp and the legacy
// SSE pair (GET /sse + POST /messages?sessionId=) for older clients: every request passes the shared
// HTTP guards (Host/Origin, bearer token, rate limit, body limit), sessions have random ids bound to
// the token that opened them (another token presenting the id gets 404, as if it did not exist),
// idle sessions expire, and their number is bounded overall and per token — the least recently used
// is closed first — so abandoned sessions cannot grow memory.

import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Express, Request, RequestHandler, Response } from 'express';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Principal } from '../../resources/identity.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import { bearerAuth, hostOriginGuard, jsonBody, principalOf, rateLimit, type HttpSecurityOptions } from '../http/security.ts';
import type { ToolRegistry } from './framework.ts';
import { createMcpServer, type McpSession } from './server.ts';
import type { McpServices } from './services.ts';

/** DEFAULT_IDLE_TIMEOUT_MS: a session unused this long is closed (30 min). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
/** DEFAULT_MAX_SESSIONS bounds the sessions of one server. */
export const DEFAULT_MAX_SESSIONS = 1000;
/** DEFAULT_MAX_SESSIONS_PER_TOKEN bounds the sessions one token holds. */
export const DEFAULT_MAX_SESSIONS_PER_TOKEN = 100;

/** HttpTransportOptions configure the HTTP transports. */
export interface HttpTransportOptions {
  registry: ToolRegistry;
  services: McpServices;
  security: HttpSecurityOptions;
  idleTimeoutMs?: number;
  maxSessions?: number;
  maxSessionsPerToken?: number;
  logger?: Logger;
  now?: () => number;
}

interface SessionEntry {
  id: string;
  kind: 'streamable' | 'sse';
  owner: string;
  transport: StreamableHTTPServerTransport | SSEServerTransport;
  session: McpSession;
  lastSeen: number;
}

/** ownerOf is the key a session is bound to: the token id (or, for tokenless principals, the agent). */
function ownerOf(p: Principal): string {
  return p.identity.tokenId ? `token:${p.identity.tokenId}` : `agent:${p.identity.agent}`;
}

function attachAuth(req: Request, principal: Principal): void {
  // The SDK hands req.auth to handlers as extra.authInfo; the principal rides in `extra` because it
  // is re-verified on every request, so revocation and scope changes apply mid-session.
  (req as Request & { auth?: unknown }).auth = {
    token: '[redacted]',
    clientId: principal.identity.tokenId ?? principal.identity.agent,
    scopes: [...principal.scopes],
    extra: { principal },
  };
}

function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * McpHttpSessions serves /mcp, /sse and /messages on an express app and owns every HTTP session.
 */
export class McpHttpSessions {
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly opts: HttpTransportOptions;
  private readonly idleTimeoutMs: number;
  private readonly maxSessions: number;
  private readonly maxPerToken: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(opts: HttpTransportOptions) {
    this.opts = opts;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxSessions = Math.max(1, opts.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.maxPerToken = Math.max(1, opts.maxSessionsPerToken ?? DEFAULT_MAX_SESSIONS_PER_TOKEN);
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(60_000, Math.floor(this.idleTimeoutMs / 2))));
    this.sweeper.unref();
  }

  /** size is the number of open sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** mount adds the routes to `app`, each behind the shared guards. */
  mount(app: Express): void {
    const sec = this.opts.security;
    const guards: RequestHandler[] = [hostOriginGuard(sec), bearerAuth(sec), rateLimit(sec)];
    const body = jsonBody(sec);
    const wrap = (fn: (req: Request, res: Response) => Promise<void>): RequestHandler => (req, res) => {
      fn(req, res).catch((err: unknown) => {
        this.log.error('MCP HTTP request failed', { path: req.path, error: err as Error });
        if (!res.headersSent) jsonRpcError(res, 500, -32603, 'internal server error');
      });
    };
    app.post('/mcp', ...guards, body, wrap((req, res) => this.post(req, res)));
    app.get('/mcp', ...guards, wrap((req, res) => this.existing(req, res)));
    app.delete('/mcp', ...guards, wrap((req, res) => this.existing(req, res)));
    app.get('/sse', ...guards, wrap((req, res) => this.openSse(req, res)));
    app.post('/messages', ...guards, body, wrap((req, res) => this.sseMessage(req, res)));
  }

  /** sweep closes sessions idle longer than the timeout. */
  sweep(): void {
    const cutoff = this.now() - this.idleTimeoutMs;
    for (const s of [...this.sessions.values()]) if (s.lastSeen < cutoff) void this.drop(s, 'idle');
  }

  /** close ends every session and stops the sweeper. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => this.drop(s, 'shutdown')));
  }

  private lookup(id: string | undefined, kind: SessionEntry['kind'], principal: Principal): SessionEntry | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    // Another token's session id answers exactly like an unknown one: nothing to learn by guessing.
    if (!s || s.kind !== kind || s.owner !== ownerOf(principal)) return undefined;
    s.lastSeen = this.now();
    // Re-inserting keeps the Map in least-recently-used order for eviction.
    this.sessions.delete(id);
    this.sessions.set(id, s);
    return s;
  }

  private async post(req: Request, res: Response): Promise<void> {
    const principal = principalOf(res);
    attachAuth(req, principal);
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const s = this.lookup(sid, 'streamable', principal);
      if (!s) return jsonRpcError(res, 404, -32001, 'Session not found: it expired, was closed, or belongs to another token; initialize a new one');
      await (s.transport as StreamableHTTPServerTransport).handleRequest(req, res, req.body);
      return;
    }
    if (!isInitializeRequest(req.body)) {
      return jsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header; start with an initialize request');
    }
    if (this.closed) return jsonRpcError(res, 503, -32000, 'the server is shutting down');
    const owner = ownerOf(principal);
    const session = createMcpServer({ registry: this.opts.registry, services: this.opts.services });
    let entry: SessionEntry | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Tool calls answer with one JSON body: no per-request SSE stream to set up and tear down.
      // Notifications (resources/updated) still flow on the session's GET stream.
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        entry = { id, kind: 'streamable', owner, transport, session, lastSeen: this.now() };
        this.admit(entry);
      },
    });
    transport.onclose = () => {
      if (entry) this.forget(entry);
      void session.close();
    };
    await session.server.connect(transport);
    await transport.handleRequest(req, res, req.body);
    if (!entry) await session.close(); // the initialize failed (bad version, malformed): nothing to keep
  }

  private async existing(req: Request, res: Response): Promise<void> {
    const principal = principalOf(res);
    attachAuth(req, principal);
    const sid = req.headers['mcp-session-id'];
    const s = this.lookup(typeof sid === 'string' ? sid : undefined, 'streamable', principal);
    if (!s) {
      if (typeof sid !== 'string') return jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return jsonRpcError(res, 404, -32001, 'Session not found');
    }
    await (s.transport as StreamableHTTPServerTransport).handleRequest(req, res);
  }

  private async openSse(req: Request, res: Response): Promise<void> {
    const principal = principalOf(res);
    if (this.closed) return jsonRpcError(res, 503, -32000, 'the server is shutting down');
    const transport = new SSEServerTransport('/messages', res);
    const session = createMcpServer({ registry: this.opts.registry, services: this.opts.services });
    const entry: SessionEntry = { id: transport.sessionId, kind: 'sse', owner: ownerOf(principal), transport, session, lastSeen: this.now() };
    this.admit(entry);
    transport.onclose = () => {
      this.forget(entry);
      void session.close();
    };
    res.on('close', () => void this.drop(entry, 'client closed'));
    await session.server.connect(transport);
  }

  private async sseMessage(req: Request, res: Response): Promise<void> {
    const principal = principalOf(res);
    attachAuth(req, principal);
    const sid = typeof req.query.sessionId === 'string' ? req.query.sessionId : undefined;
    const s = this.lookup(sid, 'sse', principal);
    if (!s) return jsonRpcError(res, 404, -32001, 'Session not found');
    await (s.transport as SSEServerTransport).handlePostMessage(req, res, req.body);
  }

  private admit(entry: SessionEntry): void {
    const mine = [...this.sessions.values()].filter((s) => s.owner === entry.owner);
    // Map order is least recently used first, so the first ones found are the oldest idle.
    for (let i = 0; mine.length - i >= this.maxPerToken; i++) void this.drop(mine[i]!, 'per-token session limit');
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.values().next().value!;
      this.forget(oldest);
      void this.drop(oldest, 'session limit');
    }
    this.sessions.set(entry.id, entry);
  }

  private forget(entry: SessionEntry): void {
    if (this.sessions.get(entry.id) === entry) this.sessions.delete(entry.id);
  }

  private async drop(entry: SessionEntry, why: string): Promise<void> {
    if (this.sessions.get(entry.id) !== entry && why !== 'session limit') return;
    this.forget(entry);
    this.log.debug('MCP session closed', { session: entry.id.slice(0, 8), why });
    try {
      await entry.transport.close();
    } catch {
      // already closed
    }
    await entry.session.close().catch(() => {});
  }
}

/** StdioOptions configure the stdio transport. */
export interface StdioOptions {
  registry: ToolRegistry;
  services: McpServices;
  principal: Principal;
  stdin?: Readable;
  stdout?: Writable;
}

/** serveStdio speaks MCP on stdin/stdout as `principal` until the input ends; it returns the session. */
export async function serveStdio(opts: StdioOptions): Promise<McpSession & { closed: Promise<void> }> {
  const session = createMcpServer({ registry: opts.registry, services: opts.services, principal: opts.principal });
  const transport: Transport = new StdioServerTransport(opts.stdin, opts.stdout);
  const closed = new Promise<void>((resolve) => {
    session.server.onclose = () => resolve();
  });
  await session.server.connect(transport);
  // The SDK's stdio transport does not notice the end of its input; a client that exits closes it.
  (opts.stdin ?? process.stdin).once('end', () => void session.close());
  return { ...session, closed };
}
