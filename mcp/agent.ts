// The agent: everything `systemmanager serve` runs, assembled in one place — the store, the
// manifests source, the controller manager with its controllers, and the HTTP listener (health
// now; MCP, REST and metrics mount on the same app). Start and stop are symmetric so tests can run
// whole agents side by side.

import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import { resourceKey } from '../resources/kinds.ts';
import { silentLogger, type Logger } from '../resources/log.ts';
import { ManifestSource } from '../resources/source.ts';
import { hostSelected } from '../resources/selector.ts';
import { ResourceStore } from '../resources/store.ts';
import type { Labels } from '../resources/types.ts';
import { createContainerController, createDockerEngine, type ContainerController, type DockerEngine } from '../controllers/container/index.ts';
import { AuditLog } from '../controllers/audit/index.ts';
import { createHostController, type HostReader } from '../controllers/host/index.ts';
import { createImageController } from '../controllers/image/index.ts';
import { createOutputPreferenceController, type OutputPreferenceResolver } from '../controllers/output/index.ts';
import { createPackageController, type PackageBackend, type PackageController } from '../controllers/package/index.ts';
import { createProbeController } from '../controllers/probe/index.ts';
import { createProposalController, createProposalService, type ProposalService } from '../controllers/proposal/index.ts';
import { ControllerManager } from '../controllers/runtime/index.ts';
import { createTokenController, type TokenIndex } from '../controllers/token/index.ts';
import { bearerAuth, defaultAllowedHosts, hostOriginGuard, jsonBody, rateLimit, type HttpSecurityOptions } from './http/security.ts';
import { createAgentMetrics, dockerStatsReader, metricsHandler, MetricsListener, METRICS_PATH, requireMetricsRead, type AgentMetrics } from './metrics/index.ts';
import { createRestRouter, REST_PREFIX } from './rest/index.ts';
import { createUiRouter, UI_PREFIX } from './ui/index.ts';
import { createDockerInventory, createToolRegistry, ensureBootstrapToken, McpHttpSessions, SERVER_VERSION, type McpServices, type ToolMetrics, type ToolRegistry } from './server/index.ts';

/** AgentOptions configure one agent. */
export interface AgentOptions {
  manifestsDir: string;
  stateDir: string;
  /** listen: host and port of the HTTP listener; port 0 picks a free one. */
  listen: { host: string; port: number };
  dockerSocket?: string;
  allowEmpty?: boolean;
  hostName: string;
  hostLabels?: Labels;
  logger?: Logger;
  /** hostReader: replaces the real host reader (tests). */
  hostReader?: HostReader;
  /** hostIntervalMs: how often the Host status is refreshed. */
  hostIntervalMs?: number;
  /** allowedHosts: extra Host header names accepted besides loopback (a tailnet name), any port. */
  allowedHosts?: string[];
  /** allowedOrigins: browser Origins accepted besides the server's own. */
  allowedOrigins?: string[];
  /** trustedProxies: addresses whose Tailscale identity headers are trusted (default loopback). */
  trustedProxies?: string[];
  /** rateLimitPerMinute: authenticated requests per token per minute (default 600). */
  rateLimitPerMinute?: number;
  /** bodyLimitBytes: the largest request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** allowSelfApproval: let a proposer approve their own proposals (single-operator setups; audited). */
  allowSelfApproval?: boolean;
  /** mcpIdleTimeoutMs/mcpMaxSessions/mcpMaxSessionsPerToken bound MCP HTTP sessions (defaults 30 min, 1000, 100). */
  mcpIdleTimeoutMs?: number;
  mcpMaxSessions?: number;
  mcpMaxSessionsPerToken?: number;
  /** toolMetrics: counts and times every MCP tool call (default: the agent's own metrics). */
  toolMetrics?: ToolMetrics;
  /** metricsListen: also serve /metrics on a listener of its own (for a cluster's Prometheus: no Host check there). */
  metricsListen?: { host: string; port: number };
  /** metricsAuth: /metrics needs a bearer token with metrics:read (default off: open, like node_exporter, on a loopback listener). */
  metricsAuth?: boolean;
  /** metricsSampleIntervalMs: how often network counters and container CPU/memory are sampled (default 15 s). */
  metricsSampleIntervalMs?: number;
  /** packageBackend: replaces the host's apt/dpkg for Package resources (tests). */
  packageBackend?: PackageBackend;
  /** fileRoots: the directories file_operations may read (`serve --file-root`, repeatable); none turns it off. */
  fileRoots?: string[];
  /** httpAllowlist: CIDRs, addresses or host names http_request_test may reach although they are loopback, private, link-local or metadata. */
  httpAllowlist?: string[];
}

/** Agent is one running systemmanager server. */
export class Agent {
  readonly store: ResourceStore;
  readonly source: ManifestSource;
  readonly manager: ControllerManager;
  readonly docker: DockerEngine;
  readonly app: Express;
  readonly hostReader: HostReader;
  /** tokens verifies bearer tokens against the AccessTokens in the store (the auth layer's TokenVerifier). */
  readonly tokens: TokenIndex;
  /** outputPreferences picks a tool call's default format (TOON or JSON) from the OutputPreferences. */
  readonly outputPreferences: OutputPreferenceResolver;
  /** httpSecurity: the options of the HTTP guards, shared by every authenticated route (REST API, /mcp). */
  httpSecurity!: HttpSecurityOptions;
  /** proposals: the only path from a write request to the manifests directory. */
  readonly proposals: ProposalService;
  /** audit: the hash-chained audit log in the state directory. */
  readonly audit: AuditLog;
  /** mcp: the MCP tool registry and services (stdio serves them too) and the HTTP sessions at /mcp, /sse, /messages. */
  mcp!: { registry: ToolRegistry; services: McpServices; sessions: McpHttpSessions };
  /** packages: the package controller; `packages.updates.snapshot()` lists upgradable packages from its cache (check_system_updates). */
  packages!: PackageController;
  /** metrics: the agent's Prometheus registry and the hooks that feed it. */
  metrics!: AgentMetrics;
  private metricsListener: MetricsListener | undefined;
  private readonly server: Server;
  private readonly containers: ContainerController;
  private readonly log: Logger;
  private stopping: Promise<void> | undefined;
  private ready = false;

  private constructor(parts: {
    store: ResourceStore;
    source: ManifestSource;
    manager: ControllerManager;
    docker: DockerEngine;
    containers: ContainerController;
    hostReader: HostReader;
    tokens: TokenIndex;
    outputPreferences: OutputPreferenceResolver;
    proposals: ProposalService;
    audit: AuditLog;
    log: Logger;
  }) {
    this.store = parts.store;
    this.source = parts.source;
    this.manager = parts.manager;
    this.docker = parts.docker;
    this.containers = parts.containers;
    this.hostReader = parts.hostReader;
    this.tokens = parts.tokens;
    this.outputPreferences = parts.outputPreferences;
    this.proposals = parts.proposals;
    this.audit = parts.audit;
    this.log = parts.log;
    this.app = express();
    this.app.disable('x-powered-by');
    this.app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    this.app.get('/readyz', (_req, res) => {
      const source = this.store.sourceState;
      const checks = { manifestsLoaded: source.synced, controllersStarted: this.ready };
      const ok = Object.values(checks).every(Boolean);
      res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'not ready', checks, ...(source.message ? { message: source.message } : {}) });
    });
    this.server = createServer(this.app);
  }

  /** start opens the state, loads the manifests, starts the controllers and listens. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const log = opts.logger ?? silentLogger;
    const store = await ResourceStore.open({
      stateDir: opts.stateDir,
      onPersistError: (err) => log.error('writing the state directory failed; retrying with the next write', { error: err }),
    });
    // Fleet targeting happens at the door: what this host is not selected for (and other hosts' Host
    // objects) never enters its store, so no controller, metric, read tool or status write sees it.
    const selects = (r: { kind: string; metadata: { name: string }; spec?: unknown }) =>
      (r.kind !== 'Host' || r.metadata.name === opts.hostName) && (opts.hostLabels === undefined || hostSelected(r, opts.hostLabels));
    const source = new ManifestSource(store, { dir: opts.manifestsDir, allowEmpty: opts.allowEmpty, logger: log.child({ component: 'manifests' }), selects });
    // The samplers call docker and host only once start() below has built them and started the metrics.
    const metrics = createAgentMetrics({
      store,
      source,
      hostName: opts.hostName,
      version: SERVER_VERSION,
      networkCounters: () => host.reader.networkCounters(),
      containerStats: { read: (id, signal) => dockerStatsReader(docker.endpoint).read(id, signal) },
      sampleIntervalMs: opts.metricsSampleIntervalMs,
      onSampleError: (sampler, err) => log.debug('metrics sample failed; keeping the previous values', { sampler, error: err as Error }),
    });
    const manager = new ControllerManager({ store, logger: log, metrics: metrics.controllers });
    const docker = createDockerEngine({ socketPath: opts.dockerSocket });
    const hostLabels = () => opts.hostLabels;
    const containers = createContainerController(manager, { store, docker, logger: log, hostLabels });
    createImageController(manager, { store, docker, logger: log, hostLabels });
    createProbeController(manager, { store, logger: log, hostLabels });
    const packages = createPackageController(manager, { store, backend: opts.packageBackend, logger: log, hostLabels });
    const host = createHostController(manager, {
      store,
      hostName: opts.hostName,
      labels: opts.hostLabels,
      intervalMs: opts.hostIntervalMs,
      reader: opts.hostReader,
      docker: () => dockerSummary(docker),
    });
    const tokens = createTokenController(manager, { store, logger: log });
    const outputPreferences = createOutputPreferenceController(manager, { store, hostLabels });
    const audit = await AuditLog.open(opts.stateDir, { logger: log.child({ component: 'audit' }), onAppend: (entry, error) => metrics.audit.record(entry, error) });
    const proposals = createProposalService({ store, source, audit, manifestsDir: opts.manifestsDir, logger: log.child({ component: 'proposals' }), allowSelfApproval: opts.allowSelfApproval });
    createProposalController(manager, { store, service: proposals });
    const agent = new Agent({ store, source, manager, docker, containers, hostReader: host.reader, tokens: tokens.index, outputPreferences: outputPreferences.resolver, proposals, audit, log });
    agent.packages = packages;
    agent.metrics = metrics;
    agent.mountRestApi(opts);
    agent.mountUi();
    agent.mountMcp(opts);
    const metricsGuards = agent.mountMetrics(opts);
    await source.start();
    await ensureBootstrapToken({ store, stateDir: opts.stateDir, listenHost: opts.listen.host, logger: log });
    await proposals.recover(); // before the controllers start, so every phase matches the files on disk
    manager.start();
    metrics.start();
    host.controller.enqueue(resourceKey('Host', opts.hostName));
    agent.ready = true;
    await new Promise<void>((resolve, reject) => {
      agent.server.once('error', reject);
      agent.server.listen(opts.listen.port, opts.listen.host, () => {
        agent.server.off('error', reject);
        resolve();
      });
    });
    if (opts.metricsListen) agent.metricsListener = await MetricsListener.start(opts.metricsListen, metricsHandler(metrics.registry), metricsGuards);
    log.info('systemmanager is serving', { url: agent.url, manifests: source.dir, state: opts.stateDir, docker: docker.endpoint, host: opts.hostName });
    return agent;
  }

  /**
   * mountMetrics serves /metrics on the main listener behind the Host check, and with --metrics-auth
   * behind a bearer token with metrics:read; it returns the auth guards for a dedicated listener.
   */
  private mountMetrics(opts: AgentOptions): RequestHandler[] {
    const guards = opts.metricsAuth ? [bearerAuth(this.httpSecurity), requireMetricsRead()] : [];
    const onError = (err: unknown) => this.log.error('collecting metrics failed', { error: err as Error });
    this.app.get(METRICS_PATH, hostOriginGuard(this.httpSecurity), ...guards, metricsHandler(this.metrics.registry, onError));
    this.metrics.tools.declare(this.mcp.registry.names());
    return guards;
  }

  /** metricsUrl is the base URL of the dedicated metrics listener, when there is one. */
  get metricsUrl(): string | undefined {
    return this.metricsListener?.url;
  }

  private mountMcp(opts: AgentOptions): void {
    const services: McpServices = {
      store: this.store,
      hostName: opts.hostName,
      hostReader: this.hostReader,
      docker: createDockerInventory(this.docker.endpoint),
      events: this.manager.recorder,
      proposals: this.proposals,
      version: SERVER_VERSION,
      startedAt: new Date(),
      ready: () => this.ready,
      logger: this.log,
      fileRoots: opts.fileRoots ?? [],
      network: { httpAllowlist: opts.httpAllowlist ?? [] },
      packageUpdates: this.packages.updates,
    };
    const registry = createToolRegistry(services, {
      audit: this.audit,
      formats: this.outputPreferences,
      metrics: opts.toolMetrics ?? this.metrics.tools,
      onUnexpected: (tool, err) => this.log.error('MCP tool failed unexpectedly', { tool, error: err as Error }),
    });
    const sessions = new McpHttpSessions({
      registry,
      services,
      security: this.httpSecurity,
      idleTimeoutMs: opts.mcpIdleTimeoutMs,
      maxSessions: opts.mcpMaxSessions,
      maxSessionsPerToken: opts.mcpMaxSessionsPerToken,
      logger: this.log.child({ component: 'mcp' }),
    });
    sessions.mount(this.app);
    this.mcp = { registry, services, sessions };
  }

  private mountRestApi(opts: AgentOptions): void {
    const security: HttpSecurityOptions = {
      tokens: this.tokens,
      allowedHosts: () => {
        const port = (this.server.address() as AddressInfo | null)?.port ?? opts.listen.port;
        const wildcard = ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'].includes(opts.listen.host);
        const own = wildcard ? [] : [opts.listen.host.includes(':') ? `[${opts.listen.host}]:${port}` : `${opts.listen.host}:${port}`];
        return defaultAllowedHosts(port, [...own, ...(opts.allowedHosts ?? [])]);
      },
      allowedOrigins: opts.allowedOrigins,
      trustedProxies: opts.trustedProxies,
      rateLimitPerMinute: opts.rateLimitPerMinute,
      bodyLimitBytes: opts.bodyLimitBytes,
      audit: this.audit,
    };
    this.httpSecurity = security;
    const router = createRestRouter({
      store: this.store,
      proposals: this.proposals,
      events: this.manager.recorder,
      source: this.source,
      audit: this.audit,
      bodyLimitBytes: opts.bodyLimitBytes,
      onUnexpected: (err, req) => this.log.error('REST request failed unexpectedly', { path: req.path, error: err as Error }),
    });
    this.app.use(REST_PREFIX, hostOriginGuard(security), bearerAuth(security), rateLimit(security), jsonBody(security), router);
  }

  /** mountUi serves the approvals page; it holds no data, so only the Host/Origin guard runs before it (the REST API it calls checks the token). */
  private mountUi(): void {
    const router = createUiRouter({ onUnexpected: (err) => this.log.error('the approvals page cannot be served', { error: err as Error }) });
    this.app.use(UI_PREFIX, hostOriginGuard(this.httpSecurity), router);
  }

  /** url is the base URL of the HTTP listener. */
  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** stop finishes in-flight reconciles, flushes state and closes the listener; calling it twice is fine. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.ready = false;
      this.log.info('shutting down: finishing in-flight work');
      this.server.closeIdleConnections?.();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await this.source.stop();
      await this.containers.stop();
      await this.manager.stop();
      await this.metricsListener?.close();
      await this.metrics.stop();
      await this.packages.stop();
      await this.store.close();
      await this.mcp.sessions.close();
      await this.audit.close();
      this.server.closeAllConnections?.();
      await closed;
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}

async function dockerSummary(docker: DockerEngine): Promise<{ available: boolean; containers?: number; containersRunning?: number; message?: string }> {
  try {
    await docker.ping();
    const all = await docker.listContainers({});
    return { available: true, containers: all.length, containersRunning: all.filter((c) => c.state === 'running').length };
  } catch (err) {
    return { available: false, message: (err as Error).message };
  }
}
