// The services the tools read from and write to, as small structural interfaces: the real ones come
// from the agent (store, host reader, proposal service...), unit tests pass fakes. A service that is
// missing makes only the tools that need it fail, with a stable code.

import type { Identity, Principal } from '../../resources/identity.ts';
import type { Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { DesiredResource, Resource } from '../../resources/types.ts';
import type { HostReader } from '../../controllers/host/index.ts';
import type { UpgradableSnapshot } from '../../controllers/package/index.ts';
import type { RecordedEvent } from '../../controllers/runtime/index.ts';
import type { DockerInventory } from './docker-inventory.ts';
import type { Connector, Resolver } from './hygiene/http-guard.ts';
import { ToolError } from './framework.ts';

/** ProposedChange is one change a write tool proposes (the proposal service fills in base versions and the diff). */
export interface ProposedChange {
  operation: 'create' | 'update' | 'delete';
  kind: string;
  name: string;
  object?: DesiredResource;
}

/** ProposalPort is the proposal service (controllers/proposal) as the tools use it. */
export interface ProposalPort {
  propose(input: { changes: ProposedChange[]; reason: string; proposedBy: Identity }): Resource | Promise<Resource>;
  approve(id: string, principal: Principal, comment?: string): Resource | Promise<Resource>;
  reject(id: string, principal: Principal, comment?: string): Resource | Promise<Resource>;
  get(id: string): Resource | undefined | Promise<Resource | undefined>;
  list(filter?: { phase?: string }): Resource[] | Promise<Resource[]>;
}

/** McpServices is everything the tools and MCP resources read. */
export interface McpServices {
  store: ResourceStore;
  hostName: string;
  hostReader: HostReader;
  /** docker: the Docker read side; absent when no engine is configured. */
  docker?: DockerInventory;
  /** events: recent events per `Kind/name` (the controller manager's recorder). */
  events?: { list(key: string): RecordedEvent[] };
  proposals?: ProposalPort;
  /** version: the server version health_check reports. */
  version: string;
  /** startedAt: when the agent started (for uptime in health_check). */
  startedAt: Date;
  /** ready: whether the agent is serving (manifests loaded, controllers started). */
  ready?: () => boolean;
  logger?: Logger;
  /** approveHint: how an operator approves, appended to every proposal result. */
  approveHint?: (proposal: string) => string;
  /** fileRoots: the directories file_operations may read (`serve --file-root`); none turns the tool off. */
  fileRoots?: readonly string[];
  /** network: the policy and the injectable parts of the network tools. */
  network?: NetworkServices;
  /** packageUpdates: the package controller's cached list of upgradable packages (check_system_updates, update_system_packages). */
  packageUpdates?: { snapshot(): UpgradableSnapshot };
}

/** NetworkServices configure the network diagnostics; tests inject a resolver and connector that refuse non-loopback addresses. */
export interface NetworkServices {
  /** httpAllowlist: CIDRs, addresses or host names http_request_test may reach although they are loopback, private, link-local... */
  httpAllowlist?: readonly string[];
  /** resolve: the resolver of http_request_test, test_port_connectivity and check_ssl_certificate (default: the system's). */
  resolve?: Resolver;
  /** connect: opens TCP connections to checked addresses (default: node's net.connect). */
  connect?: Connector;
  /** dnsServers: the servers dns_lookup asks (`ip` or `ip:port`; default: the system's resolv.conf). */
  dnsServers?: readonly string[];
}

/** requireProposals returns the proposal service or fails the call with SERVICE_UNAVAILABLE. */
export function requireProposals(s: McpServices): ProposalPort {
  if (!s.proposals) throw new ToolError('SERVICE_UNAVAILABLE', 'the proposal service is not running on this server, so changes cannot be proposed');
  return s.proposals;
}

/** requireDocker returns the Docker inventory or fails the call with DOCKER_UNAVAILABLE. */
export function requireDocker(s: McpServices): DockerInventory {
  if (!s.docker) throw new ToolError('DOCKER_UNAVAILABLE', 'no Docker engine is configured on this server');
  return s.docker;
}

/** approveInstructions says how an operator approves a proposal. */
export function approveInstructions(s: McpServices, proposal: string): string {
  return s.approveHint?.(proposal) ?? `An operator with the proposals:approve scope (a different identity) approves it with \`systemmanager approve ${proposal}\` or on the approvals page; nothing changes until then.`;
}

/** summarizeProposal is the part of a Proposal a write tool's result shows. */
export function summarizeProposal(p: Resource): Record<string, unknown> {
  const spec = p.spec as { changes?: Array<{ operation: string; kind: string; name: string }>; reason?: string; risk?: string; expiresAt?: string };
  const status = (p.status ?? {}) as { phase?: string; diff?: string; message?: string };
  return {
    id: p.metadata.name,
    phase: status.phase ?? 'Pending',
    risk: spec.risk ?? 'unknown',
    reason: spec.reason ?? '',
    changes: (spec.changes ?? []).map((c) => ({ operation: c.operation, kind: c.kind, name: c.name })),
    diff: status.diff ?? '',
    ...(spec.expiresAt ? { expiresAt: spec.expiresAt } : {}),
    ...(status.message ? { message: status.message } : {}),
  };
}

/**
 * nowTimestamp renders a time for spec fields such as restartedAt. It keeps milliseconds: the
 * container controller restarts when the container started before restartedAt, and a container
 * started earlier in the same second must still count as "before".
 */
export function nowTimestamp(d = new Date()): string {
  return d.toISOString();
}
