// MCP tool calls: a counter by tool and outcome and a duration histogram by tool, fed by the tool
// framework's onToolCall hook. Series of every declared tool start at 0.

import { Counter, Histogram, type Registry } from 'prom-client';
import type { ToolCallOutcome, ToolMetrics } from '../server/index.ts';

const OUTCOMES: readonly ToolCallOutcome[] = ['ok', 'error', 'denied', 'invalid'];
const TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;
// Tool names are declared by the server, not chosen by callers; the cap is a last line of defence.
const MAX_TOOLS = 256;

/** ToolCallMetrics implements the framework's ToolMetrics hook. */
export class ToolCallMetrics implements ToolMetrics {
  private readonly calls: Counter<'tool' | 'outcome'>;
  private readonly duration: Histogram<'tool'>;
  private readonly known = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({ name: 'systemmanager_mcp_tool_calls_total', help: 'MCP tool calls by tool and outcome (ok, error: a domain failure, denied: missing scope, invalid: bad arguments).', labelNames: ['tool', 'outcome'], registers });
    this.duration = new Histogram({
      name: 'systemmanager_mcp_tool_call_duration_seconds',
      help: 'How long MCP tool calls take, by tool.',
      labelNames: ['tool'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  /** declare creates the zero series of the given tools, so a dashboard shows tools nobody has called. */
  declare(tools: Iterable<string>): void {
    for (const tool of tools) {
      const label = this.label(tool);
      for (const outcome of OUTCOMES) this.calls.inc({ tool: label, outcome }, 0);
      this.duration.zero({ tool: label });
    }
  }

  /** onToolCall counts one finished call (the framework's hook). */
  onToolCall(tool: string, outcome: ToolCallOutcome, seconds: number): void {
    this.recordToolCall(tool, outcome, seconds);
  }

  /** recordToolCall counts one finished call; an unknown outcome counts as error, a negative time as 0. */
  recordToolCall(tool: string, outcome: ToolCallOutcome, seconds: number): void {
    const label = this.label(tool);
    this.calls.inc({ tool: label, outcome: OUTCOMES.includes(outcome) ? outcome : 'error' });
    this.duration.observe({ tool: label }, Number.isFinite(seconds) && seconds > 0 ? seconds : 0);
  }

  private label(tool: string): string {
    if (this.known.has(tool)) return tool;
    if (!TOOL_NAME.test(tool) || this.known.size >= MAX_TOOLS) return 'other';
    this.known.add(tool);
    return tool;
  }
}
