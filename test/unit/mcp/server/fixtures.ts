// Shared fixtures for the MCP server unit tests: a store with a Host and a Container, a fake host
// reader, a fake Docker inventory, an in-memory audit sink and proposal service stand-in, and a
// connected SDK Client over InMemoryTransport.

import type { TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Identity, Principal } from '../../../../resources/identity.ts';
import { API_VERSION } from '../../../../resources/kinds.ts';
import { expandScopes } from '../../../../resources/scopes.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import type { Resource } from '../../../../resources/types.ts';
import type { AuditEntry } from '../../../../controllers/audit/types.ts';
import type { HostReader, ProcessInfo } from '../../../../controllers/host/index.ts';
import { MemoryEventRecorder } from '../../../../controllers/runtime/index.ts';
import { createMcpServer, createToolRegistry, type ContainerRow, type DockerInventory, type McpServices, type ProposalPort, type ProposedChange, type ToolMetrics, type ToolRegistry } from '../../../../mcp/server/index.ts';

/** principal builds a principal with the given scope names (aliases allowed). */
export function principal(agent: string, scopes: string[], tokenId?: string): Principal {
  return { identity: { agent, ...(tokenId ? { tokenId } : {}) }, scopes: expandScopes(scopes) };
}

export const PROCESSES: ProcessInfo[] = Array.from({ length: 30 }, (_, i) => ({
  pid: 100 + i,
  name: `proc${i}`,
  command: `/usr/bin/proc${i} --flag`,
  user: i % 2 ? 'root' : 'www-data',
  state: 'sleeping',
  cpuPercent: (i * 7) % 31,
  memoryPercent: (i * 13) % 17,
  memoryRssBytes: 1024 * (i + 1),
  started: '2025-01-01 00:00:00',
}));

/** fakeHostReader answers from fixed lists. */
export function fakeHostReader(): HostReader {
  return {
    async snapshot() {
      throw new Error('not used');
    },
    async processes() {
      return PROCESSES;
    },
    async connections() {
      return [];
    },
    async networkCounters() {
      return [
        { interface: 'lo', rxBytes: 10, txBytes: 10, rxPackets: 0, txPackets: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 },
        { interface: 'eth0', rxBytes: 500, txBytes: 700, rxPackets: 0, txPackets: 0, rxErrors: 1, txErrors: 0, rxDropped: 0, txDropped: 0 },
      ];
    },
  };
}

/** fakeDocker lists one managed and one unmanaged container; `down` makes every call fail like a stopped daemon. */
export function fakeDocker(state: { down: boolean } = { down: false }): DockerInventory {
  const fail = () => Object.assign(new Error('cannot reach the Docker engine at /nowhere: list containers: ECONNREFUSED'), { code: 'DOCKER_UNAVAILABLE' });
  return {
    async containers() {
      if (state.down) throw fail();
      const rows: ContainerRow[] = [
        { id: 'aaaaaaaaaaaa', name: 'web', image: 'busybox', state: 'running', status: 'Up 1 minute', created: '2025-01-01T00:00:00.000Z', ports: [], labels: { 'io.systemmanager.managed-by': 'systemmanager', 'io.systemmanager.name': 'web' } },
        { id: 'bbbbbbbbbbbb', name: 'hand-made', image: 'alpine', state: 'exited', status: 'Exited (0)', created: '2025-01-01T00:00:00.000Z', ports: [], labels: {} },
      ];
      return rows;
    },
    async images() {
      if (state.down) throw fail();
      return [{ id: 'cccccccccccc', tags: ['busybox:1'], sizeBytes: 1000, created: '2025-01-01T00:00:00.000Z' }];
    },
    async networks() {
      if (state.down) throw fail();
      return [{ id: 'dddddddddddd', name: 'none', driver: 'null', scope: 'local', internal: false }];
    },
    async logs(id, o) {
      if (state.down) throw fail();
      return Array.from({ length: 500 }, (_, i) => `${id} line ${i}`).slice(-o.tail);
    },
  };
}

/** MemoryAudit keeps appended entries; `broken` makes append throw like an unwritable log. */
export class MemoryAudit {
  entries: AuditEntry[] = [];
  broken = false;
  append(entry: AuditEntry): void {
    if (this.broken) throw Object.assign(new Error('audit log unwritable'), { code: 'AUDIT_UNAVAILABLE' });
    this.entries.push(entry);
  }
}

/**
 * FakeProposals is a stand-in for controllers/proposal's service with its observable rules: a
 * Pending proposal per propose(), approval by a different identity only, no second decision.
 */
export class FakeProposals implements ProposalPort {
  private n = 0;
  readonly items = new Map<string, Resource>();
  propose(input: { changes: ProposedChange[]; reason: string; proposedBy: Identity }): Resource {
    const name = `p-${++this.n}`;
    const r = {
      apiVersion: API_VERSION,
      kind: 'Proposal',
      metadata: { name, uid: name, generation: 1, resourceVersion: '1', creationTimestamp: new Date(Date.now() + this.n).toISOString() },
      spec: { changes: input.changes, reason: input.reason, risk: 'moderate', proposedBy: input.proposedBy },
      status: { phase: 'Pending', diff: `--- a\n+++ b\n${JSON.stringify(input.changes.map((c) => c.object?.spec ?? null))}` },
    } as unknown as Resource;
    this.items.set(name, r);
    return r;
  }
  private decide(id: string, by: Principal, phase: string): Resource {
    const p = this.items.get(id);
    if (!p) throw Object.assign(new Error(`no proposal ${id}`), { code: 'PROPOSAL_NOT_FOUND' });
    if ((p.status as { phase: string }).phase !== 'Pending') throw Object.assign(new Error(`${id} is not pending`), { code: 'PROPOSAL_NOT_PENDING' });
    if ((p.spec as { proposedBy: Identity }).proposedBy.agent === by.identity.agent) throw Object.assign(new Error('approver is the proposer'), { code: 'SELF_APPROVAL' });
    const next = { ...p, status: { ...p.status, phase } } as Resource;
    this.items.set(id, next);
    return next;
  }
  approve(id: string, by: Principal): Resource {
    return this.decide(id, by, 'Applied');
  }
  reject(id: string, by: Principal): Resource {
    return this.decide(id, by, 'Rejected');
  }
  get(id: string): Resource | undefined {
    return this.items.get(id);
  }
  list(filter: { phase?: string } = {}): Resource[] {
    return [...this.items.values()].filter((p) => !filter.phase || (p.status as { phase: string }).phase === filter.phase);
  }
}

/** Harness is a registry with fakes behind it. */
export interface Harness {
  store: ResourceStore;
  services: McpServices;
  registry: ToolRegistry;
  audit: MemoryAudit;
  proposals: FakeProposals;
  docker: { down: boolean };
  calls: Array<{ tool: string; outcome: string }>;
  formats: { format: 'json' | 'toon' };
}

/** harness builds a store with Host `h1` and Container `web`, and a registry over fakes. */
export async function harness(t: TestContext): Promise<Harness> {
  const store = await ResourceStore.open();
  t.after(() => store.close());
  store.upsert({ apiVersion: API_VERSION, kind: 'Host', metadata: { name: 'h1' }, spec: {} });
  store.updateStatus('Host', 'h1', { hostname: 'h1', uptimeSeconds: 5, observedAt: '2025-01-01T00:00:00Z', docker: { available: true } });
  store.upsert({ apiVersion: API_VERSION, kind: 'Container', metadata: { name: 'web' }, spec: { image: 'systemmanager-test/busybox:1', network: 'none' } });
  store.updateStatus('Container', 'web', { state: 'running', containerID: 'aaaaaaaaaaaa1234', conditions: [{ type: 'Ready', status: 'True', reason: 'Running', lastTransitionTime: '2025-01-01T00:00:00Z' }] });
  store.setSourceState({ synced: true, empty: false, pruneAllowed: true });
  const docker = { down: false };
  const audit = new MemoryAudit();
  const proposals = new FakeProposals();
  const events = new MemoryEventRecorder();
  events.record('Container/web', 'Normal', 'Started', 'started container web');
  const services: McpServices = { store, hostName: 'h1', hostReader: fakeHostReader(), docker: fakeDocker(docker), events, proposals, version: '0.0.0-test', startedAt: new Date() };
  const calls: Harness['calls'] = [];
  const metrics: ToolMetrics = { onToolCall: (tool, outcome) => calls.push({ tool, outcome }) };
  const formats = { format: 'json' as 'json' | 'toon' };
  const registry = createToolRegistry(services, { audit, metrics, formats: { resolve: () => formats } });
  return { store, services, registry, audit, proposals, docker, calls, formats };
}

/** connect starts an SDK server for `who` and connects a real Client to it over InMemoryTransport. */
export async function connect(t: TestContext, h: Harness, who: Principal | undefined): Promise<Client> {
  const session = createMcpServer({ registry: h.registry, services: h.services, ...(who ? { principal: who } : {}) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await session.server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  t.after(async () => {
    await client.close();
    await session.close();
  });
  return client;
}

/** errorOf reads the `{error:{code,message}}` of an isError result. */
export function errorOf(result: Record<string, unknown>): { code: string; message: string; scope?: string } {
  const content = result.content as Array<{ type: string; text: string }>;
  return (JSON.parse(content[0]!.text) as { error: { code: string; message: string; scope?: string } }).error;
}

/** textOf is the first text content. */
export function textOf(result: Record<string, unknown>): string {
  return (result.content as Array<{ text: string }>)[0]!.text;
}
