// analyze_container_logs: reads a bounded window of a container's log (the last `tail` lines, newer
// than `since`, at most `maxBytes` read from Docker — the stream is cut there) and folds it line by
// line into a compact analysis (hygiene/log-analysis.ts): error and warning signatures, their first
// and last occurrence, the rate over time, and likely causes with evidence and a recommendation,
// including what only Docker's state shows (OOMKilled, restart count). When the client supports
// sampling, its model is asked for a short root-cause summary of that compact analysis — never of
// the raw log — and the answer is marked as model-written.

import { ToolError, type ToolRegistry } from '../framework.ts';
import { LogAnalyzer, type LogAnalysis } from '../hygiene/log-analysis.ts';
import { requireDocker, type McpServices } from '../services.ts';

/** LOG_WINDOW bounds what one analysis reads. */
export const LOG_WINDOW = { defaultTail: 10_000, maxTail: 200_000, defaultBytes: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 } as const;
const SAMPLING_PROMPT_CHARS = 8000;
const SAMPLING_TIMEOUT_MS = 60_000;

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

type LogArgs = { name: string; since?: string; tail?: number; maxBytes?: number; summarize?: boolean };

/** samplingPrompt is the compact analysis the client's model is shown (bounded; no raw log). */
export function samplingPrompt(container: string, state: Record<string, unknown>, a: LogAnalysis): string {
  const compact = {
    container,
    state,
    lines: a.lines,
    errors: a.errors,
    warnings: a.warnings,
    span: a.firstTimestamp ? `${a.firstTimestamp} .. ${a.lastTimestamp}` : 'unknown',
    topSignatures: a.signatures.slice(0, 10).map((s) => ({ signature: s.signature, level: s.level, count: s.count, firstSeen: s.firstSeen, lastSeen: s.lastSeen })),
    likelyCauses: a.likelyCauses.map((c) => ({ title: c.title, occurrences: c.occurrences, evidence: c.evidence.slice(0, 2) })),
  };
  return `Container log analysis (computed by the server from a bounded window of the log):\n${JSON.stringify(compact).slice(0, SAMPLING_PROMPT_CHARS)}\n\nIn at most 5 sentences: what is the most likely root cause, and what should the operator check first?`;
}

/** registerLogTools declares analyze_container_logs. */
export function registerLogTools(registry: ToolRegistry, s: McpServices): void {
  registry.add<LogArgs>({
    name: 'analyze_container_logs',
    title: 'Analyze container logs',
    description:
      'Analyze a bounded window of a container\'s log (managed or not): error/warning counts by normalized signature with first and last occurrence, the rate over time, and likely causes (OOM kill, connection refused, DNS failure, permission denied, address in use, disk full, crash loop, TLS errors) with evidence lines and recommendations. If the client supports sampling, adds a short root-cause summary written by the client\'s model from this analysis (marked as such).',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', description: 'A managed Container resource name, or any Docker container name or id.' },
        since: { type: 'string', pattern: '^[1-9][0-9]{0,6}[smhd]$', description: 'Only lines newer than this, e.g. 10m, 2h, 1d.' },
        tail: { type: 'integer', minimum: 1, maximum: LOG_WINDOW.maxTail, default: LOG_WINDOW.defaultTail, description: 'Analyze the last this many lines.' },
        maxBytes: { type: 'integer', minimum: 1024, maximum: LOG_WINDOW.maxBytes, default: LOG_WINDOW.defaultBytes, description: 'Stop reading from Docker after this many bytes.' },
        summarize: { type: 'boolean', default: true, description: "Ask the client's model for a summary when the client supports sampling." },
      },
      required: ['name'],
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      properties: {
        container: { type: 'string' },
        id: { type: 'string' },
        managed: { type: 'boolean' },
        state: { type: 'object' },
        window: { type: 'object' },
        lines: { type: 'integer' },
        errors: { type: 'integer' },
        warnings: { type: 'integer' },
        firstTimestamp: { type: 'string' },
        lastTimestamp: { type: 'string' },
        signatures: { type: 'array', items: { type: 'object' } },
        distinctSignatures: { type: 'integer' },
        signaturesCapped: { type: 'boolean' },
        rate: { type: 'object' },
        likelyCauses: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' }, occurrences: { type: 'integer' }, evidence: { type: 'array', items: { type: 'string' } }, recommendation: { type: 'string' } } } },
        modelSummary: { type: 'object', properties: { text: { type: 'string' }, model: { type: 'string' }, writtenBy: { type: 'string' } } },
        modelSummaryError: { type: 'string' },
      },
      required: ['container', 'state', 'window', 'lines', 'errors', 'warnings', 'signatures', 'likelyCauses'],
    },
    annotations: READ,
    access: 'container:read',
    risk: 'low',
    kind: 'read',
    formats: true,
    async handler(args, ctx) {
      const docker = requireDocker(s);
      if (!docker.inspectContainer || !docker.containerLogs) throw new ToolError('DOCKER_UNAVAILABLE', 'this server\'s Docker adapter cannot stream logs');
      const managed = s.store.get('Container', args.name);
      const id = ((managed?.status ?? {}) as { containerID?: string }).containerID ?? args.name;
      const notFound = (err: unknown) => {
        if ((err as { statusCode?: number }).statusCode === 404) throw new ToolError('NOT_FOUND', `no container named ${args.name}${managed ? ' (its Container resource has no running container)' : ''}`);
        throw err;
      };
      const info = await docker.inspectContainer(id, ctx.signal).catch(notFound);
      const tail = args.tail ?? LOG_WINDOW.defaultTail;
      const maxBytes = args.maxBytes ?? LOG_WINDOW.defaultBytes;
      const sinceSeconds = args.since ? Math.floor(Date.now() / 1000) - Number(args.since.slice(0, -1)) * UNIT[args.since.slice(-1)]! : undefined;
      const stream = await docker.containerLogs(id, { tail, maxBytes, ...(sinceSeconds ? { sinceSeconds } : {}) }, ctx.signal).catch(notFound);
      const analyzer = new LogAnalyzer();
      for await (const line of stream) analyzer.add(line);
      const state = { status: info.status, oomKilled: info.oomKilled, restartCount: info.restartCount, exitCode: info.exitCode, ...(info.error ? { error: info.error } : {}), startedAt: info.startedAt };
      const analysis = analyzer.result(state);
      const structured: Record<string, unknown> = {
        container: args.name,
        id: info.id,
        managed: Boolean(managed),
        state,
        window: { tail, ...(args.since ? { since: args.since } : {}), maxBytes, bytesRead: stream.bytesRead, truncated: stream.truncated },
        ...analysis,
      };
      if (ctx.sample && args.summarize !== false) {
        try {
          const answer = await ctx.sample(
            { system: 'You are a site reliability engineer. Answer briefly and concretely, from the analysis given only.', prompt: samplingPrompt(args.name, state, analysis), maxTokens: 400 },
            AbortSignal.any([ctx.signal, AbortSignal.timeout(SAMPLING_TIMEOUT_MS)]),
          );
          structured.modelSummary = { text: answer.text.slice(0, 4000), model: answer.model, writtenBy: "the MCP client's model (sampling), from this compact analysis only; not verified by the server" };
        } catch (err) {
          structured.modelSummaryError = `the client's model gave no summary: ${(err as Error).message}`.slice(0, 300);
        }
      }
      const causes = analysis.likelyCauses.map((c) => c.title).join(', ');
      return {
        structured,
        summary: `${analysis.lines} lines analyzed (${stream.bytesRead} bytes${stream.truncated ? ', cut at maxBytes' : ''}): ${analysis.errors} errors, ${analysis.warnings} warnings${causes ? `; likely causes: ${causes}` : ''}.`,
      };
    },
  });
}
