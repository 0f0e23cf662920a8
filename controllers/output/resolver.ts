// Which output format (TOON or JSON) a tool call gets when the call does not say: the most specific
// matching OutputPreference decides. Preferences that tie at the same specificity but disagree are
// a conflict: the call gets JSON (every client reads it) and the answer says why, never a guess.

import type { ResourceStore } from '../../resources/store.ts';
import type { Labels, Resource } from '../../resources/types.ts';
import { selectorMatches, type LabelSelector } from '../container/spec.ts';

/** OutputFormat is a tool result format. */
export type OutputFormat = 'toon' | 'json';

/** DEFAULT_OUTPUT_FORMAT is used when no preference matches, and whenever matching ones conflict. */
export const DEFAULT_OUTPUT_FORMAT: OutputFormat = 'json';

/** OutputPreferenceSpec is the spec of an OutputPreference, as schemas/outputpreference.schema.json defines it. */
export interface OutputPreferenceSpec {
  format: OutputFormat;
  selector?: { agents?: string[]; tools?: string[] };
  suspend?: boolean;
  hostSelector?: LabelSelector;
}

/** Specificity ranks selectors: agents and tools (3) > agents only (2) > tools only (1) > empty (0). */
export type Specificity = 0 | 1 | 2 | 3;

/** OutputCall is what the resolver needs to know about a call: who calls, and which tool. */
export interface OutputCall {
  /** agent: the caller's agent name; undefined matches only preferences without an agents list. */
  agent?: string;
  tool: string;
}

/** OutputResolution is the format a call gets and where that came from. */
export interface OutputResolution {
  format: OutputFormat;
  /** source: `OutputPreference/<name>` that decided, `default` when none matched, `conflict` when the most specific ones disagree. */
  source: string;
  /** reason: one sentence on why, for logs and for the user. */
  reason: string;
  /** conflict: the `OutputPreference/<name>`s that tied with different formats. */
  conflict?: string[];
}

/** CompiledPreference is one preference ready for matching. */
export interface CompiledPreference {
  name: string;
  format: OutputFormat;
  agents: ReadonlySet<string> | undefined;
  tools: ReadonlySet<string> | undefined;
  specificity: Specificity;
}

/** compilePreference reads an OutputPreference; empty lists count as absent, as the schema documents. */
export function compilePreference(object: Resource): CompiledPreference {
  const spec = object.spec as unknown as OutputPreferenceSpec;
  const agents = spec.selector?.agents?.length ? new Set(spec.selector.agents) : undefined;
  const tools = spec.selector?.tools?.length ? new Set(spec.selector.tools) : undefined;
  const specificity = ((agents ? 2 : 0) + (tools ? 1 : 0)) as Specificity;
  return { name: object.metadata.name, format: spec.format === 'toon' ? 'toon' : 'json', agents, tools, specificity };
}

/** preferenceMatches tells whether a preference applies to a call. */
export function preferenceMatches(p: CompiledPreference, call: OutputCall): boolean {
  if (p.agents && (call.agent === undefined || !p.agents.has(call.agent))) return false;
  if (p.tools && !p.tools.has(call.tool)) return false;
  return true;
}

/**
 * canTie tells whether two preferences of the same specificity match some call together. Tool and
 * agent names are open-ended, so a more specific preference never shadows a whole overlap: an
 * overlap at the same level is a tie some call will meet.
 */
export function canTie(a: CompiledPreference, b: CompiledPreference): boolean {
  if (a.specificity !== b.specificity) return false;
  const overlaps = (x: ReadonlySet<string> | undefined, y: ReadonlySet<string> | undefined) => !x || !y || [...x].some((v) => y.has(v));
  return overlaps(a.agents, b.agents) && overlaps(a.tools, b.tools);
}

/** resolveFormat picks the format for a call from compiled preferences (pure). */
export function resolveFormat(preferences: readonly CompiledPreference[], call: OutputCall): OutputResolution {
  let best: CompiledPreference[] = [];
  for (const p of preferences) {
    if (!preferenceMatches(p, call)) continue;
    if (!best.length || p.specificity > best[0]!.specificity) best = [p];
    else if (p.specificity === best[0]!.specificity) best.push(p);
  }
  if (!best.length) return { format: DEFAULT_OUTPUT_FORMAT, source: 'default', reason: 'no OutputPreference matches this call' };
  best.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const formats = new Set(best.map((p) => p.format));
  if (formats.size > 1) {
    const conflict = best.map((p) => `OutputPreference/${p.name}`);
    return {
      format: DEFAULT_OUTPUT_FORMAT,
      source: 'conflict',
      reason: `${best.map((p) => `OutputPreference/${p.name} (${p.format})`).join(', ')} match this call equally specifically but disagree; using ${DEFAULT_OUTPUT_FORMAT}`,
      conflict,
    };
  }
  const winner = best[0]!;
  return { format: winner.format, source: `OutputPreference/${winner.name}`, reason: `the most specific matching preference is OutputPreference/${winner.name}` };
}

/** OutputPreferenceResolverOptions configure an OutputPreferenceResolver. */
export interface OutputPreferenceResolverOptions {
  /** hostLabels: this host's labels; preferences whose hostSelector does not match them are not in force here. */
  hostLabels?: () => Labels | undefined;
}

/**
 * OutputPreferenceResolver answers resolve() from the store's OutputPreferences. It keeps them
 * compiled and recompiles lazily after a spec change, so a call costs one pass over the preferences.
 */
export class OutputPreferenceResolver {
  private readonly store: ResourceStore;
  private readonly hostLabels: (() => Labels | undefined) | undefined;
  private compiled: CompiledPreference[] | undefined;
  private readonly unwatch: () => void;

  constructor(store: ResourceStore, opts: OutputPreferenceResolverOptions = {}) {
    this.store = store;
    this.hostLabels = opts.hostLabels;
    this.unwatch = store.watch((event) => {
      if (event.kind === 'OutputPreference' && !event.statusChanged) this.compiled = undefined;
    });
  }

  /** resolve returns the default format for a call that did not ask for one. */
  resolve(call: OutputCall): OutputResolution {
    return resolveFormat(this.preferences(), call);
  }

  /** preferences lists the compiled preferences in force on this host (not suspended, host selected). */
  preferences(): readonly CompiledPreference[] {
    this.compiled ??= this.store
      .list('OutputPreference')
      .filter((o) => this.inForce(o))
      .map(compilePreference);
    return this.compiled;
  }

  /** inForce tells whether a preference applies on this host: not suspended and selected by its hostSelector. */
  inForce(object: Resource): boolean {
    const spec = object.spec as unknown as OutputPreferenceSpec;
    if (spec.suspend) return false;
    if (!spec.hostSelector) return true;
    const labels = this.hostLabels?.();
    return !labels || selectorMatches(spec.hostSelector, labels);
  }

  /** close stops following the store. */
  close(): void {
    this.unwatch();
  }
}
