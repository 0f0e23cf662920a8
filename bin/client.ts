// The small REST client the operator commands use: fetch against /api/v1alpha1 with the bearer
// token in the Authorization header (never the URL). Server errors keep their stable code so the
// CLI can print them the way kubectl does: `Error from server (CODE): message`.

import { KIND_NAMES, KINDS, kindForPlural, type KindInfo } from '../resources/kinds.ts';
import type { Resource } from '../resources/types.ts';

/** DEFAULT_SERVER is where the CLI looks for the agent when neither --server nor SYSTEMMANAGER_URL says. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** ClientOptions say which server to talk to, and as whom. */
export interface ClientOptions {
  server?: string;
  token?: string;
  /** fetch: replaces the global fetch (tests). */
  fetch?: typeof fetch;
  /** timeoutMs bounds each request (default 30 s). */
  timeoutMs?: number;
}

/** ApiError is an error answer from the server, with its stable code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: Record<string, unknown>;
  constructor(status: number, code: string, message: string, body: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** ConnectionError: the server could not be reached at all. */
export class ConnectionError extends Error {
  constructor(server: string, cause: unknown) {
    const detail = (cause as { cause?: { code?: string; message?: string } })?.cause;
    super(`cannot reach the server at ${server}: ${detail?.code ?? detail?.message ?? (cause as Error).message}`, { cause });
    this.name = 'ConnectionError';
  }
}

/** ResourceList is the body of a list request. */
export interface ResourceList {
  apiVersion: string;
  kind: string;
  items: Resource[];
}

/** resolveKind reads a KIND argument the way kubectl does: plural, singular or Kind, any case. */
export function resolveKind(word: string): KindInfo {
  const info = kindForPlural(word);
  if (!info) throw new Error(`the server doesn't have a resource type "${word}" (known: ${KIND_NAMES.map((k) => KINDS[k].plural).join(', ')})`);
  return info;
}

/** ApiClient talks to one agent's REST API. */
export class ApiClient {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(opts: ClientOptions = {}) {
    this.server = (opts.server ?? process.env.SYSTEMMANAGER_URL ?? DEFAULT_SERVER).replace(/\/+$/, '');
    this.token = opts.token ?? process.env.SYSTEMMANAGER_TOKEN;
    this.fetchFn = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** list returns every resource of a kind (proposals may be filtered by phase). */
  list(info: KindInfo, query: Record<string, string> = {}): Promise<ResourceList> {
    return this.request('GET', `/${info.plural}${queryString(query)}`) as Promise<ResourceList>;
  }

  /** get returns one resource, or undefined when the server says NOT_FOUND. */
  async get(info: KindInfo, name: string): Promise<Resource | undefined> {
    try {
      return (await this.request('GET', `/${info.plural}/${encodeURIComponent(name)}`)) as Resource;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** describe returns the Description of one resource. */
  describe(info: KindInfo, name: string): Promise<Record<string, unknown>> {
    return this.request('GET', `/${info.plural}/${encodeURIComponent(name)}/describe`) as Promise<Record<string, unknown>>;
  }

  /** propose creates a proposal from changes. */
  propose(changes: unknown[], reason: string): Promise<Resource> {
    return this.request('POST', '/proposals', { changes, reason }) as Promise<Resource>;
  }

  /** decide approves or rejects a proposal. */
  decide(id: string, decision: 'approve' | 'reject', comment?: string): Promise<Resource> {
    return this.request('POST', `/proposals/${encodeURIComponent(id)}/${decision}`, comment === undefined ? {} : { comment }) as Promise<Resource>;
  }

  /** whoami returns the caller's identity and scopes. */
  whoami(): Promise<Record<string, unknown>> {
    return this.request('GET', '/whoami') as Promise<Record<string, unknown>>;
  }

  /** request sends one call to the API and returns the parsed JSON body; error answers throw ApiError. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.server}/api/v1alpha1${path}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
    } catch (err) {
      throw new ConnectionError(this.server, err);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const b = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
      const code = typeof b.code === 'string' ? b.code : `HTTP_${res.status}`;
      const message = typeof b.message === 'string' ? b.message : text.slice(0, 200) || res.statusText;
      throw new ApiError(res.status, code, message, b);
    }
    if (parsed === undefined) throw new ApiError(res.status, 'BAD_RESPONSE', `the server at ${this.server} did not answer with JSON; is it a systemmanager agent?`);
    return parsed;
  }
}

function queryString(q: Record<string, string>): string {
  const entries = Object.entries(q).filter(([, v]) => v !== '');
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : '';
}
