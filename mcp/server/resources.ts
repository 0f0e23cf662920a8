// Resources as MCP resources: every stored object is readable as `systemmanager://<kind>/<name>`
// (kind lowercase; YAML with status), listed with cursor pagination, and a subscription sends
// `notifications/resources/updated` whenever the object changes (the store's watch), so an agent
// can follow a container until it is Ready without polling a tool.

import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type Resource as McpResource,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../../resources/identity.ts';
import { KINDS, KIND_NAMES, type KindName } from '../../resources/kinds.ts';
import { KIND_SCOPES } from '../../resources/scopes.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Resource } from '../../resources/types.ts';
import { stringifyManifest } from '../../resources/yaml-codec.ts';

/** RESOURCE_SCHEME is the URI scheme of resources. */
export const RESOURCE_SCHEME = 'systemmanager';
/** DEFAULT_PAGE_SIZE is how many resources one resources/list page holds. */
export const DEFAULT_PAGE_SIZE = 100;
/** MAX_SUBSCRIPTIONS bounds one session's subscriptions, so a client cannot grow server memory without limit. */
export const MAX_SUBSCRIPTIONS = 1000;

/** resourceUri is the MCP URI of a resource. */
export function resourceUri(kind: string, name: string): string {
  return `${RESOURCE_SCHEME}://${kind.toLowerCase()}/${name}`;
}

/** parseResourceUri reads `systemmanager://<kind>/<name>`; undefined when it is not one. */
export function parseResourceUri(uri: string): { kind: KindName; name: string } | undefined {
  const m = /^systemmanager:\/\/([a-z]+)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(uri);
  if (!m) return undefined;
  const kind = KIND_NAMES.find((k) => k.toLowerCase() === m[1]);
  return kind ? { kind, name: m[2]! } : undefined;
}

/** mayRead tells whether a principal may read resources of a kind (Proposals: anyone authenticated). */
export function mayRead(principal: Principal | undefined, kind: KindName): boolean {
  if (!principal) return false;
  const scope = KIND_SCOPES[kind]?.read;
  return scope === undefined || principal.scopes.has(scope);
}

function describeResource(r: Resource): McpResource {
  return {
    uri: resourceUri(r.kind, r.metadata.name),
    name: `${r.kind}/${r.metadata.name}`,
    title: `${r.kind} ${r.metadata.name}`,
    mimeType: 'application/yaml',
    description: `${r.kind} ${r.metadata.name} (${KINDS[r.kind].plural}); desired spec and observed status`,
  };
}

function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const m = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new McpError(ErrorCode.InvalidParams, 'invalid cursor');
  return Number(m[1]);
}

/**
 * attachResources registers resources/list, resources/templates/list, resources/read and
 * resources/subscribe on `server`. It returns the function that stops the store watch.
 */
export function attachResources(server: Server, store: ResourceStore, principalOf: (extra: unknown) => Principal | undefined, opts: { pageSize?: number } = {}): () => void {
  const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
  const subscribed = new Set<string>();

  server.setRequestHandler(ListResourcesRequestSchema, (req, extra) => {
    const principal = principalOf(extra);
    const visible = store.list().filter((r) => mayRead(principal, r.kind));
    const offset = decodeCursor(req.params?.cursor);
    const page = visible.slice(offset, offset + pageSize).map(describeResource);
    return { resources: page, ...(offset + pageSize < visible.length ? { nextCursor: encodeCursor(offset + pageSize) } : {}) };
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      {
        uriTemplate: `${RESOURCE_SCHEME}://{kind}/{name}`,
        name: 'resource',
        title: 'A systemmanager resource',
        description: `kind is one of ${KIND_NAMES.map((k) => k.toLowerCase()).join(', ')}; the content is the resource as YAML, with status`,
        mimeType: 'application/yaml',
      },
    ],
  }));

  const resolve = (uri: string, extra: unknown): { kind: KindName; name: string } => {
    const parsed = parseResourceUri(uri);
    if (!parsed) throw new McpError(ErrorCode.InvalidParams, `not a systemmanager resource URI: ${uri.slice(0, 200)} (expected systemmanager://<kind>/<name>)`);
    if (!mayRead(principalOf(extra), parsed.kind)) {
      throw new McpError(ErrorCode.InvalidRequest, `insufficient_scope: reading ${parsed.kind} resources needs the ${KIND_SCOPES[parsed.kind]?.read ?? 'authenticated'} scope`);
    }
    return parsed;
  };

  server.setRequestHandler(ReadResourceRequestSchema, (req, extra) => {
    const { kind, name } = resolve(req.params.uri, extra);
    const r = store.get(kind, name);
    // -32002 is the spec's "resource not found".
    if (!r) throw new McpError(-32002, `${kind}/${name} not found`, { uri: req.params.uri });
    return { contents: [{ uri: req.params.uri, mimeType: 'application/yaml', text: stringifyManifest([r]) }] };
  });

  server.setRequestHandler(SubscribeRequestSchema, (req, extra) => {
    resolve(req.params.uri, extra);
    if (!subscribed.has(req.params.uri) && subscribed.size >= MAX_SUBSCRIPTIONS) {
      throw new McpError(ErrorCode.InvalidRequest, `at most ${MAX_SUBSCRIPTIONS} subscriptions per session`);
    }
    subscribed.add(req.params.uri);
    return {};
  });

  server.setRequestHandler(UnsubscribeRequestSchema, (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });

  const unwatch = store.watch((event) => {
    if (subscribed.size === 0) return;
    const uri = resourceUri(event.kind, event.name);
    if (!subscribed.has(uri)) return;
    server.sendResourceUpdated({ uri }).catch(() => {
      // The session went away; its close handler unwatches.
    });
  });
  let listTimer: NodeJS.Timeout | undefined;
  const unwatchList = store.watch((event) => {
    if (event.type === 'MODIFIED' || listTimer) return;
    // Coalesce a burst of adds/deletes (a manifests reload) into one list_changed notification.
    listTimer = setTimeout(() => {
      listTimer = undefined;
      server.sendResourceListChanged().catch(() => {});
    }, 100);
    listTimer.unref();
  });
  return () => {
    unwatch();
    unwatchList();
    clearTimeout(listTimer);
    subscribed.clear();
  };
}
