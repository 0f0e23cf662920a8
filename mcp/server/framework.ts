// The tool framework: every MCP tool is declared once (name, description, input and output JSON
// Schemas, annotations, required scope, risk) and runs through one path — scope check, argument
// validation with the shared Ajv instance, the handler, output formatting (JSON or TOON), audit for
// writes and denials, and a metrics hook. Conventions follow the MCP SDK: a bad request (unknown
// tool) throws McpError; a refused or failed call is a tool result with `isError: true` whose text
// is `{"error":{"code","message"}}` with a stable code an agent can act on.

import { encode } from '@toon-format/toon';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../../resources/identity.ts';
import type { Scope } from '../../resources/scopes.ts';
import { describeAjvErrors, schemaRegistry } from '../../resources/validation.ts';
import type { AuditEntry } from '../../controllers/audit/types.ts';
import { hoistDefs, type JsonSchema } from './schema-bundle.ts';

/** OutputFormat is how a result's text content is written; structuredContent is always JSON. */
export type OutputFormat = 'json' | 'toon';

/** ToolKind says what a call does: read answers, propose creates a Proposal, decide approves or rejects one. */
export type ToolKind = 'read' | 'propose' | 'decide';

/** Risk is the declared risk of what a tool does (the Proposal's own risk is assessed by the proposal service). */
export type Risk = 'low' | 'moderate' | 'high' | 'critical';

/**
 * ToolAccess says who may call a tool: `public` (every caller, even unauthenticated ones such as
 * health_check), `authenticated` (any token), or one scope. `scopeFor` narrows a call further when
 * the scope depends on the arguments (the kind a resource tool is asked about).
 */
export type ToolAccess = 'public' | 'authenticated' | Scope;

/** MAX_ARGUMENT_BYTES bounds the serialized arguments of one call; schema limits catch the rest. */
export const MAX_ARGUMENT_BYTES = 256 * 1024;

/** ToolErrorCode is a stable code a failed call carries: one of resources/errors.ts or a controller's own (DOCKER_UNAVAILABLE...). */
export type ToolErrorCode = string;

/** ToolError is a domain failure of a tool: it becomes an isError result with its code. */
export class ToolError extends Error {
  readonly code: ToolErrorCode;
  constructor(code: ToolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'ToolError';
  }
}

/** ToolCallOutcome labels a call for metrics: ok, error (domain failure), denied (scope), invalid (arguments). */
export type ToolCallOutcome = 'ok' | 'error' | 'denied' | 'invalid';

/** ToolMetrics is the hook the metrics layer implements; the framework calls it once per call. */
export interface ToolMetrics {
  onToolCall(tool: string, outcome: ToolCallOutcome, seconds: number): void;
}

/** AuditSink is where write decisions and denials go (controllers/audit's AuditLog); append throws AUDIT_UNAVAILABLE when it cannot write. */
export interface AuditSink {
  append(entry: AuditEntry): unknown;
}

/** FormatResolver picks the default format of a call that did not ask for one (controllers/output's resolver). */
export interface FormatResolver {
  resolve(call: { agent?: string; tool: string }): { format: OutputFormat };
}

/** ToolCallContext is what a handler gets besides its arguments. */
export interface ToolCallContext {
  principal: Principal;
  signal: AbortSignal;
  /** sample: asks the client's model (MCP sampling); present only when the connected client declared the sampling capability. */
  sample?: SamplingPort;
}

/** SamplingPort asks the client's model for a short text (sampling/createMessage); it returns the text and the model that wrote it. */
export type SamplingPort = (request: { system: string; prompt: string; maxTokens: number }, signal: AbortSignal) => Promise<{ text: string; model: string }>;

/** ToolReply is what a handler returns: the structured result, and optionally a short lead line for the text content. */
export interface ToolReply {
  structured: Record<string, unknown>;
  /** summary: a sentence put before the formatted data in the text content (proposals say how to approve). */
  summary?: string;
  /** proposal/target: recorded in the audit line of a write. */
  proposal?: string;
  target?: string;
}

/** ToolDefinition declares one tool. `Args` is the validated argument object. */
export interface ToolDefinition<Args = Record<string, unknown>> {
  name: string;
  title: string;
  description: string;
  /** inputSchema: an object schema; with `formats`, a `format` property is added. */
  inputSchema: JsonSchema;
  outputSchema: JsonSchema;
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };
  access: ToolAccess;
  /** scopeFor: the scope a particular call needs, when it depends on the arguments (checked after validation). */
  scopeFor?: (args: Args) => Scope | undefined;
  /** visibleWith: for tools whose scope depends on arguments, whether tools/list should show them to these scopes. */
  visibleWith?: (scopes: ReadonlySet<Scope>) => boolean;
  risk: Risk;
  kind: ToolKind;
  /** mutatingFor: for a tool whose actions mix reads and proposals (manage_container), whether this call changes anything. */
  mutatingFor?: (args: Args) => boolean;
  /** formats: the tool returns lists or records and takes `format: json|toon`. */
  formats?: boolean;
  handler: (args: Args, ctx: ToolCallContext) => Promise<ToolReply>;
}

/** FORMAT_PROPERTY is the `format` argument every list/record tool takes. */
export const FORMAT_PROPERTY: JsonSchema = {
  type: 'string',
  enum: ['json', 'toon'],
  description: 'Text output format: json, or toon (compact Token-Oriented Object Notation). structuredContent is always JSON. Default: the matching OutputPreference, else json.',
};

/** RegisteredTool is a tool with its compiled argument validator. */
interface RegisteredTool {
  def: ToolDefinition;
  validate: ValidateFunction;
  published: Tool;
}

/** ToolRegistryOptions are the shared hooks of every call. */
export interface ToolRegistryOptions {
  audit?: AuditSink;
  metrics?: ToolMetrics;
  formats?: FormatResolver;
  /** onUnexpected: a handler threw something that is not a ToolError (logged; the caller sees INTERNAL). */
  onUnexpected?: (tool: string, err: unknown) => void;
}

// Compiled validators by schema text: registries are built per agent (and per test), the tools'
// schemas are the same every time, and compiling the large bundled ones is the expensive part.
const compiledCache = new Map<string, ValidateFunction>();

/**
 * ToolRegistry holds the declared tools and runs calls. One registry serves every session: it keeps
 * no per-caller state, so a server per principal costs only the SDK's Server object.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, RegisteredTool>();
  private readonly opts: ToolRegistryOptions;

  constructor(opts: ToolRegistryOptions = {}) {
    this.opts = opts;
  }

  /** add declares a tool; the input schema is compiled once in the shared Ajv instance. */
  add<Args>(def: ToolDefinition<Args>): void {
    if (this.tools.has(def.name)) throw new Error(`tool ${def.name} is declared twice`);
    const inputSchema = hoistDefs(def.formats ? withFormat(def.inputSchema) : def.inputSchema);
    if (inputSchema.type !== 'object' || inputSchema.additionalProperties !== false) {
      throw new Error(`tool ${def.name}: inputSchema must be an object schema with additionalProperties: false`);
    }
    const cacheKey = JSON.stringify(inputSchema);
    let validate = compiledCache.get(cacheKey);
    if (!validate) {
      validate = schemaRegistry().ajv.compile(inputSchema);
      compiledCache.set(cacheKey, validate);
    }
    const published: Tool = {
      name: def.name,
      title: def.title,
      description: def.description,
      inputSchema: inputSchema as Tool['inputSchema'],
      outputSchema: def.outputSchema as Tool['outputSchema'],
      annotations: { title: def.title, ...def.annotations },
      _meta: { 'io.systemmanager/access': def.access, 'io.systemmanager/risk': def.risk, 'io.systemmanager/kind': def.kind },
    };
    this.tools.set(def.name, { def: { ...def, inputSchema } as ToolDefinition, validate, published });
  }

  /** names lists every declared tool. */
  names(): string[] {
    return [...this.tools.keys()];
  }

  /** definition returns a declared tool. */
  definition(name: string): ToolDefinition | undefined {
    return this.tools.get(name)?.def;
  }

  /** list returns the tools this principal may call, as tools/list publishes them. */
  list(principal: Principal | undefined): Tool[] {
    return [...this.tools.values()].filter((t) => mayList(t.def, principal)).map((t) => t.published);
  }

  /** call runs one tools/call for `principal`. Unknown tools throw McpError; everything else is a result. */
  async call(name: string, rawArgs: unknown, principal: Principal | undefined, signal: AbortSignal, sample?: SamplingPort): Promise<CallToolResult> {
    const tool = this.tools.get(name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(name)}`);
    const started = process.hrtime.bigint();
    const finish = (outcome: ToolCallOutcome, result: CallToolResult): CallToolResult => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      try {
        this.opts.metrics?.onToolCall(name, outcome, seconds);
      } catch {
        // metrics must never fail a call
      }
      return result;
    };
    const def = tool.def;

    if (def.access !== 'public') {
      if (!principal) return finish('denied', errorResult('UNAUTHENTICATED', `${name} needs an authenticated caller`));
      if (def.access !== 'authenticated' && !principal.scopes.has(def.access)) {
        return finish('denied', await this.deny(def, principal, def.access));
      }
    }

    const args = rawArgs ?? {};
    let size: number;
    try {
      size = Buffer.byteLength(JSON.stringify(args));
    } catch {
      size = Infinity;
    }
    if (size > MAX_ARGUMENT_BYTES) {
      return finish('invalid', errorResult('INVALID_ARGUMENTS', `the arguments of ${name} are ${size} bytes; the limit is ${MAX_ARGUMENT_BYTES}`));
    }
    if (!tool.validate(args)) {
      const issues = describeAjvErrors(tool.validate.errors ?? []);
      const text = issues.map((i) => `${i.pointer || '/'}: ${i.message}`).join('; ');
      return finish('invalid', errorResult('INVALID_ARGUMENTS', `invalid arguments for ${name}: ${text}`));
    }
    const typed = args as Record<string, unknown>;

    const needed = def.scopeFor?.(typed);
    if (needed && (!principal || !principal.scopes.has(needed))) {
      return finish('denied', principal ? await this.deny(def, principal, needed) : errorResult('UNAUTHENTICATED', `${name} needs an authenticated caller`));
    }

    const mutating = def.mutatingFor ? def.mutatingFor(typed) : def.kind !== 'read';
    if (mutating) {
      if (!this.opts.audit) return finish('error', errorResult('AUDIT_UNAVAILABLE', 'the audit log is not available, so changes are refused (fail closed); reads still work'));
      // The intent is recorded before anything changes: if that write fails, nothing happens.
      try {
        await this.opts.audit.append({ identity: principal!.identity, action: `mcp.${name}`, outcome: 'allowed', scope: needed ?? (def.access as string), detail: 'requested' });
      } catch (err) {
        return finish('error', errorResult('AUDIT_UNAVAILABLE', `the audit log cannot be written, so the change is refused (fail closed): ${(err as Error).message}`));
      }
    }

    let reply: ToolReply;
    try {
      reply = await def.handler(typed, { principal: principal ?? anonymous, signal, ...(sample ? { sample } : {}) });
    } catch (err) {
      const failure = toToolError(err);
      if (failure.code === 'INTERNAL') this.opts.onUnexpected?.(name, err);
      if (mutating) await this.auditQuietly({ identity: principal!.identity, action: `mcp.${name}`, outcome: 'failed', scope: needed ?? (def.access as string), detail: `${failure.code}: ${failure.message}` });
      return finish(failure.code === 'FORBIDDEN_SCOPE' || failure.code === 'SELF_APPROVAL' ? 'denied' : 'error', errorResult(failure.code, failure.message));
    }
    if (mutating) {
      await this.auditQuietly({
        identity: principal!.identity,
        action: `mcp.${name}`,
        outcome: 'succeeded',
        scope: needed ?? (def.access as string),
        ...(reply.proposal ? { proposal: reply.proposal } : {}),
        ...(reply.target ? { target: reply.target } : {}),
      });
    }
    const format = def.formats ? this.formatFor(name, typed.format, principal) : 'json';
    return finish('ok', successResult(reply, format));
  }

  private formatFor(tool: string, asked: unknown, principal: Principal | undefined): OutputFormat {
    if (asked === 'json' || asked === 'toon') return asked;
    try {
      return this.opts.formats?.resolve({ agent: principal?.identity.agent, tool }).format ?? 'json';
    } catch {
      return 'json';
    }
  }

  private async deny(def: ToolDefinition, principal: Principal, scope: Scope): Promise<CallToolResult> {
    await this.auditQuietly({ identity: principal.identity, action: `mcp.${def.name}`, outcome: 'denied', scope, detail: 'insufficient_scope' });
    return errorResult('FORBIDDEN_SCOPE', `insufficient_scope: ${def.name} needs the ${scope} scope, which this token does not have`, { error: 'insufficient_scope', scope });
  }

  private async auditQuietly(entry: AuditEntry): Promise<void> {
    try {
      await this.opts.audit?.append(entry);
    } catch {
      // A denial is refused either way, and a done change cannot be undone: the failed line is the audit log's own alarm.
    }
  }
}

const anonymous: Principal = { identity: { agent: 'anonymous' }, scopes: new Set() };

function mayList(def: ToolDefinition, principal: Principal | undefined): boolean {
  if (def.access === 'public') return true;
  if (!principal) return false;
  if (def.access === 'authenticated') return def.visibleWith ? def.visibleWith(principal.scopes) : true;
  return principal.scopes.has(def.access);
}

function withFormat(schema: JsonSchema): JsonSchema {
  return { ...schema, properties: { ...(schema.properties as Record<string, unknown>), format: FORMAT_PROPERTY } };
}

function toToolError(err: unknown): ToolError {
  if (err instanceof ToolError) return err;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[A-Z][A-Z_]+$/.test(code)) return new ToolError(code, (err as Error).message, { cause: err });
  return new ToolError('INTERNAL', 'the tool failed unexpectedly; the server log has the details');
}

/** errorResult is a refused or failed call as a tool result. */
export function errorResult(code: ToolErrorCode, message: string, extra: Record<string, unknown> = {}): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: { code, message, ...extra } }) }] };
}

/** renderText writes structured data as the text content of a result, in the chosen format. */
export function renderText(structured: Record<string, unknown>, format: OutputFormat): string {
  return format === 'toon' ? encode(structured) : JSON.stringify(structured);
}

function successResult(reply: ToolReply, format: OutputFormat): CallToolResult {
  const body = renderText(reply.structured, format);
  return {
    structuredContent: reply.structured,
    content: [{ type: 'text', text: reply.summary ? `${reply.summary}\n\n${body}` : body }],
  };
}
