// Shared by the HTTP and REST unit tests: a real store with a real token index, tokens minted into
// it, an express app listening on loopback port 0, and a raw HTTP client that can send any Host
// header (fetch cannot).

import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import express, { type Express } from 'express';
import { mintToken, TokenIndex } from '../../../../controllers/token/index.ts';
import { ResourceStore } from '../../../../resources/store.ts';

/** Auth is a store with AccessTokens and the index verifying them. */
export interface Auth {
  store: ResourceStore;
  tokens: TokenIndex;
  /** mint adds an AccessToken and returns the bearer token and the resource name. */
  mint(agent: string, scopes: string[], ttlMs?: number): { token: string; id: string; name: string };
}

/** newAuth makes an in-memory store with a token index, closed after the test. */
export async function newAuth(t: TestContext): Promise<Auth> {
  const store = await ResourceStore.open();
  const tokens = new TokenIndex(store);
  t.after(() => tokens.close());
  return {
    store,
    tokens,
    mint(agent, scopes, ttlMs) {
      const m = mintToken({ agent, scopes, ttlMs });
      store.create(m.resource);
      return { token: m.token, id: m.id, name: m.resource.metadata.name };
    },
  };
}

/** listen serves `app` on 127.0.0.1:0 until the test ends and returns its port. */
export async function listen(t: TestContext, app: Express): Promise<number> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return (server.address() as AddressInfo).port;
}

/** Reply is what `call` returns. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** call sends one request to 127.0.0.1:port; headers may include Host. */
export function call(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    // The server may answer (413) and close before the whole body is written; the answer is what counts.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** bearer is the Authorization header for a token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** appWith makes an express app; `mount` adds routes. */
export function appWith(mount: (app: Express) => void): Express {
  const app = express();
  mount(app);
  return app;
}
