// Serving the registry: the /metrics handler, the metrics:read check for --metrics-auth, and the
// optional dedicated listener (--metrics-listen) that serves /metrics and nothing else.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { requireScope, sendError } from '../http/security.ts';

/** METRICS_PATH is where every listener serves the metrics. */
export const METRICS_PATH = '/metrics';

/**
 * metricsHandler answers with the registry in the Prometheus text format. Scrapes are serialized
 * by the registry itself; a collector that throws makes the scrape a 500 rather than a partial page
 * Prometheus would take as the truth.
 */
export function metricsHandler(registry: Registry, onError?: (err: unknown) => void): RequestHandler {
  return (_req, res) => {
    registry.metrics().then(
      (text) => {
        res.setHeader('Content-Type', registry.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.end(text);
      },
      (err: unknown) => {
        onError?.(err);
        res.status(500).type('text/plain').end('collecting metrics failed; see the server log\n');
      },
    );
  };
}

/** requireMetricsRead answers 403 insufficient_scope unless the caller (authenticated by bearerAuth before it) holds metrics:read. */
export function requireMetricsRead(): RequestHandler {
  return (_req, res, next) => {
    try {
      requireScope(res, 'metrics:read', 'read the metrics');
    } catch (err) {
      sendError(res, err);
      return;
    }
    next();
  };
}

/** MetricsListener is the dedicated metrics listener: GET /metrics only, everything else 404. */
export class MetricsListener {
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  /** start listens on host:port (0 picks a free port) with `guards` (authentication when --metrics-auth) in front of the handler. */
  static async start(listen: { host: string; port: number }, handler: RequestHandler, guards: RequestHandler[] = []): Promise<MetricsListener> {
    const app = express();
    app.disable('x-powered-by');
    app.get(METRICS_PATH, ...guards, handler);
    app.use((_req, res) => {
      res.status(404).type('text/plain').end(`only ${METRICS_PATH} is served here\n`);
    });
    const server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new MetricsListener(server);
  }

  /** url is the base URL of the listener. */
  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** close stops listening and drops open connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
