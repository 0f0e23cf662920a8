// `systemmanager serve`: run the agent until SIGTERM/SIGINT, then shut down gracefully (in-flight
// reconciles finish, state is flushed). Logs are JSON lines on stderr.

import os from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { createLogger } from '../../resources/log.ts';
import type { Labels } from '../../resources/types.ts';
import { sanitizeHostName } from '../../controllers/host/index.ts';
import { Agent } from '../../mcp/agent.ts';
import { serveStdio } from '../../mcp/server/index.ts';
import { AddressPolicy } from '../../mcp/server/hygiene/index.ts';
import { expandScopes } from '../../resources/scopes.ts';
import type { CliIO } from '../cli.ts';

/** DEFAULT_MANIFESTS is the embedded default desired state the server runs with no flags. */
export const DEFAULT_MANIFESTS = fileURLToPath(new URL('../../manifests/default/', import.meta.url));

/** parseListen reads HOST:PORT (IPv6 in brackets). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT (for example 127.0.0.1:8080 or [::1]:8080), got ${JSON.stringify(value)}`);
  return { host: m[1] ?? m[2]!, port };
}

function collectList(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectLabel(value: string, previous: Labels): Labels {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function collectDir(value: string, previous: string[]): string[] {
  if (value.includes('\0') || value.trim() === '') throw new InvalidArgumentError(`expected a directory, got ${JSON.stringify(value)}`);
  return [...previous, resolve(value)];
}

function collectAllow(value: string, previous: string[]): string[] {
  try {
    new AddressPolicy([value]);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return [...previous, value];
}

function collectHost(value: string, previous: string[]): string[] {
  // A hostname, optionally with a port; no scheme, path or wildcard, so it can only ever match itself.
  if (!/^(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/i.test(value)) {
    throw new InvalidArgumentError(`expected a host name such as box.tailnet.ts.net, got ${JSON.stringify(value)}`);
  }
  return [...previous, value.toLowerCase()];
}

function dockerSocketFromEnv(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (!host) return undefined;
  if (!host.startsWith('unix://')) throw new InvalidArgumentError(`DOCKER_HOST=${host}: only unix:// sockets are supported`);
  return host.slice('unix://'.length);
}

/** registerServe adds the serve command. */
export function registerServe(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('run the agent: watch the manifests, reconcile the host, serve HTTP')
    .option('--manifests <dir>', 'the manifests directory (desired state)', DEFAULT_MANIFESTS)
    .option('--state <dir>', 'the state directory (status, proposals, audit log)', '.systemmanager')
    .option('--listen <host:port>', 'the HTTP listener', (v: string) => (parseListen(v), v), '127.0.0.1:8080')
    .option('--docker-socket <path>', 'the Docker engine socket (default $DOCKER_HOST or /var/run/docker.sock)')
    .option('--allow-empty', 'let a manifests directory that declares nothing delete everything (off: an empty checkout deletes nothing)', false)
    .option('--host-name <name>', "this host's Host resource name", sanitizeHostName(os.hostname()))
    .option('--host-label <key=value>', 'a label of this host, for hostSelector (repeatable)', collectLabel, {} as Labels)
    .option('--stdio', 'also speak MCP on stdin/stdout as the local user (all scopes); logs stay on stderr; the agent stops when stdin closes', false)
    .option('--allowed-host <name>', 'another Host header name to answer for, such as a tailnet name (repeatable; loopback is always allowed)', collectHost, [] as string[])
    .option('--metrics-listen <host:port>', 'also serve /metrics on its own listener (no Host check there; for a cluster Prometheus)', parseListen)
    .option('--metrics-auth', '/metrics needs a bearer token with the metrics:read scope (default: open, like node_exporter)', false)
    .option('--allowed-origin <origin>', 'a browser Origin accepted besides the server\'s own, e.g. https://ops.example.ts.net (repeatable)', collectList, [] as string[])
    .option('--trusted-proxy <address>', 'an address whose Tailscale-User-Login/-Name headers are trusted (repeatable; default loopback, where tailscale serve connects from)', collectList, [] as string[])
    .option('--allow-self-approval', 'let a proposer approve their own proposals (single-operator setups only; every such approval is marked in the audit log)', false)
    .option('--file-root <dir>', 'a directory file_operations may read (repeatable; none: file_operations is off)', collectDir, [] as string[])
    .option('--http-allow <cidr|host>', 'a CIDR, address or host name http_request_test may reach although it is loopback/private/link-local (repeatable)', collectAllow, [] as string[])
    .action(async (opts: { manifests: string; state: string; listen: string; dockerSocket?: string; allowedOrigin: string[]; trustedProxy: string[]; allowSelfApproval: boolean; allowEmpty: boolean; hostName: string; hostLabel: Labels; allowedHost: string[]; stdio: boolean; metricsListen?: { host: string; port: number }; metricsAuth: boolean; fileRoot: string[]; httpAllow: string[] }) => {
      const logger = createLogger();
      const agent = await Agent.start({
        manifestsDir: resolve(opts.manifests),
        stateDir: resolve(opts.state),
        listen: parseListen(opts.listen),
        dockerSocket: opts.dockerSocket ?? dockerSocketFromEnv(),
        allowEmpty: opts.allowEmpty,
        hostName: opts.hostName,
        hostLabels: opts.hostLabel,
        allowedHosts: opts.allowedHost,
        allowedOrigins: opts.allowedOrigin,
        ...(opts.trustedProxy.length ? { trustedProxies: opts.trustedProxy } : {}),
        allowSelfApproval: opts.allowSelfApproval,
        ...(opts.metricsListen ? { metricsListen: opts.metricsListen } : {}),
        metricsAuth: opts.metricsAuth,
        fileRoots: opts.fileRoot,
        httpAllowlist: opts.httpAllow,
        logger,
      });
      io.err(`systemmanager serving on ${agent.url} (manifests ${resolve(opts.manifests)}, state ${resolve(opts.state)})\n`);
      await new Promise<void>((done) => {
        if (opts.stdio) {
          // stdio: the local user is the identity, as the MCP spec has it (auth is optional there).
          const principal = { identity: { agent: os.userInfo().username }, scopes: expandScopes(['admin']) };
          serveStdio({ registry: agent.mcp.registry, services: agent.mcp.services, principal })
            .then((session) => session.closed)
            .then(() => shutdown('stdin closed'), (err: unknown) => {
              logger.error('MCP over stdio failed', { error: err as Error });
              setExit(1);
              shutdown('stdio failed');
            });
        }
        const shutdown = (signal: string) => {
          logger.info('signal received', { signal });
          agent.stop().then(done, (err: unknown) => {
            logger.error('shutdown failed', { error: err as Error });
            setExit(1);
            done();
          });
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
    });
}
