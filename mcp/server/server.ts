// Building the MCP server for one principal: the SDK's low-level Server (so tools publish the JSON
// Schemas of schemas/ as they are), with tools/list and tools/call answered by the shared tool
// registry and the resources of the store as MCP resources. Over HTTP the principal is re-read on
// every request (the middleware re-verifies the token, so a revoked token stops working mid-session);
// over stdio it is the local user.

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../../resources/identity.ts';
import type { SamplingPort, ToolRegistry } from './framework.ts';
import { attachResources } from './resources.ts';
import type { McpServices } from './services.ts';

/** SERVER_NAME is what the server calls itself in the MCP handshake. */
export const SERVER_NAME = 'systemmanager';

/** INSTRUCTIONS tell a client's model how this server works. */
export const INSTRUCTIONS = [
  'systemmanager manages this host declaratively. Read tools answer from observed status.',
  'Write tools never change anything directly: they return a Proposal (diff, risk, id) that an operator with proposals:approve and a different identity approves.',
  'Resources are readable as systemmanager://<kind>/<name> and can be subscribed to for status changes.',
  'Most tools take format: "toon" for a more compact text result.',
].join(' ');

/** McpServerOptions build one server. */
export interface McpServerOptions {
  registry: ToolRegistry;
  services: McpServices;
  /** principal: the caller when the transport carries no per-request auth (stdio: the local user). */
  principal?: Principal;
  pageSize?: number;
}

/** McpSession is a built server and the function that releases what it holds. */
export interface McpSession {
  server: Server;
  close(): Promise<void>;
}

/**
 * principalFromExtra reads the principal the HTTP transport attached to a request
 * (`authInfo.extra.principal`), falling back to the server's fixed one.
 */
export function principalFromExtra(extra: unknown, fallback: Principal | undefined): Principal | undefined {
  const p = (extra as { authInfo?: { extra?: { principal?: Principal } } } | undefined)?.authInfo?.extra?.principal;
  return p ?? fallback;
}

/** createMcpServer builds the SDK server with the tools and resources, not yet connected to a transport. */
export function createMcpServer(opts: McpServerOptions): McpSession {
  const server = new Server(
    { name: SERVER_NAME, title: 'systemmanager', version: opts.services.version },
    { capabilities: { tools: { listChanged: false }, resources: { subscribe: true, listChanged: true } }, instructions: INSTRUCTIONS },
  );
  const who = (extra: unknown) => principalFromExtra(extra, opts.principal);
  server.setRequestHandler(ListToolsRequestSchema, (_req, extra) => ({ tools: opts.registry.list(who(extra)) }));
  // Sampling is offered to a tool only when this client said it can answer (the sampling capability).
  const sample: SamplingPort = async (request, signal) => {
    const result = await server.createMessage(
      { systemPrompt: request.system, messages: [{ role: 'user', content: { type: 'text', text: request.prompt } }], maxTokens: request.maxTokens, includeContext: 'none' },
      { signal },
    );
    return { text: result.content.type === 'text' ? result.content.text : '', model: result.model };
  };
  server.setRequestHandler(CallToolRequestSchema, (req, extra) =>
    opts.registry.call(req.params.name, req.params.arguments, who(extra), extra.signal, server.getClientCapabilities()?.sampling ? sample : undefined),
  );
  const detach = attachResources(server, opts.services.store, who, { pageSize: opts.pageSize });
  let closed = false;
  return {
    server,
    async close() {
      if (closed) return;
      closed = true;
      detach();
      await server.close();
    },
  };
}
