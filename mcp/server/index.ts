// The MCP server: the tool framework (framework.ts), the tools by group (tools/), resources as MCP
// resources (resources.ts), the per-principal SDK server (server.ts), the transports (stdio,
// Streamable HTTP, legacy SSE; transports.ts) and the first-start admin token (bootstrap.ts). This
// folder may import controllers/, resources/, mcp/http/ and the MCP SDK; only bin/ and mcp/agent.ts
// import it.

import { readFileSync } from 'node:fs';
import { ToolRegistry, type ToolRegistryOptions } from './framework.ts';
import type { McpServices } from './services.ts';
import { registerApprovalTools } from './tools/approvals.ts';
import { registerDockerTools } from './tools/docker.ts';
import { registerFileTools } from './tools/files.ts';
import { registerLogTools } from './tools/logs.ts';
import { registerNetworkTools } from './tools/network.ts';
import { registerPackageTools } from './tools/packages.ts';
import { registerResourceTools } from './tools/resources.ts';
import { registerSystemTools } from './tools/system.ts';

export { BOOTSTRAP_AGENT, BOOTSTRAP_RESOURCE_FILE, BOOTSTRAP_TOKEN_FILE, ensureBootstrapToken, isLoopbackHost } from './bootstrap.ts';
export type { BootstrapResult } from './bootstrap.ts';
export { createDockerInventory } from './docker-inventory.ts';
export type { ContainerInspection, ContainerLogStream, ContainerLogWindow, ContainerRow, DockerInventory, ImageRow, LogOptions, NetworkRow } from './docker-inventory.ts';
export { errorResult, MAX_ARGUMENT_BYTES, renderText, ToolError, ToolRegistry } from './framework.ts';
export type { AuditSink, FormatResolver, OutputFormat, ToolCallOutcome, ToolDefinition, ToolMetrics, ToolRegistryOptions } from './framework.ts';
export { parseResourceUri, resourceUri } from './resources.ts';
export { createMcpServer, INSTRUCTIONS, SERVER_NAME } from './server.ts';
export type { McpServerOptions, McpSession } from './server.ts';
export type { McpServices, NetworkServices, ProposalPort, ProposedChange } from './services.ts';
export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_TOKEN, McpHttpSessions, serveStdio } from './transports.ts';
export type { HttpTransportOptions, StdioOptions } from './transports.ts';

/** createToolRegistry declares every tool of this server against `services`. */
export function createToolRegistry(services: McpServices, hooks: ToolRegistryOptions = {}): ToolRegistry {
  const registry = new ToolRegistry(hooks);
  registerSystemTools(registry, services);
  registerDockerTools(registry, services);
  registerResourceTools(registry, services);
  registerApprovalTools(registry, services);
  registerFileTools(registry, services);
  registerNetworkTools(registry, services);
  registerPackageTools(registry, services);
  registerLogTools(registry, services);
  return registry;
}

/** SERVER_VERSION is the package version, reported in the MCP handshake and by health_check. */
export const SERVER_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
