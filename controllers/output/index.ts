// Output preferences: the default format (TOON or JSON) of MCP tool results per agent and tool.
// resolver.ts decides a call's format from the OutputPreference resources; reconciler.ts reports
// matched agents and conflicts in their status. This folder imports resources/,
// controllers/runtime/ and the label selector matcher in controllers/container/spec.ts.

import { resourceKey } from '../../resources/kinds.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { Labels } from '../../resources/types.ts';
import type { Controller, ControllerManager } from '../runtime/index.ts';
import { OutputPreferenceReconciler } from './reconciler.ts';
import { OutputPreferenceResolver } from './resolver.ts';

export { CONFLICT_CONDITION, MAX_MATCHED_AGENTS, OutputPreferenceReason, OutputPreferenceReconciler, tokenAgents } from './reconciler.ts';
export type { OutputPreferenceReconcilerOptions } from './reconciler.ts';
export { canTie, compilePreference, DEFAULT_OUTPUT_FORMAT, OutputPreferenceResolver, preferenceMatches, resolveFormat } from './resolver.ts';
export type { CompiledPreference, OutputCall, OutputFormat, OutputPreferenceResolverOptions, OutputPreferenceSpec, OutputResolution, Specificity } from './resolver.ts';

/** OutputPreferenceControllerOptions configure createOutputPreferenceController. */
export interface OutputPreferenceControllerOptions {
  store: ResourceStore;
  hostLabels?: () => Labels | undefined;
  now?: () => Date;
}

/** OutputPreferenceController is the registered controller and the resolver the MCP layer asks. */
export interface OutputPreferenceController {
  resolver: OutputPreferenceResolver;
  controller: Controller;
  reconciler: OutputPreferenceReconciler;
  /** close stops following the store. */
  close(): void;
}

/** createOutputPreferenceController registers the OutputPreference controller and returns the resolver. */
export function createOutputPreferenceController(manager: ControllerManager, opts: OutputPreferenceControllerOptions): OutputPreferenceController {
  const resolver = new OutputPreferenceResolver(opts.store, { hostLabels: opts.hostLabels });
  const reconciler = new OutputPreferenceReconciler({ store: opts.store, resolver, ...(opts.now ? { now: opts.now } : {}) });
  const controller = manager.add({ name: 'outputpreference', kind: 'OutputPreference', concurrency: 1, timeoutMs: 10_000 }, reconciler);
  // A preference's conflicts depend on every other preference, and matchedAgents on the tokens: any
  // spec change among them can change any preference's status.
  const unwatch = opts.store.watch((event) => {
    if (event.statusChanged || (event.kind !== 'OutputPreference' && event.kind !== 'AccessToken')) return;
    for (const o of opts.store.list('OutputPreference')) if (o.metadata.name !== event.name || event.kind !== 'OutputPreference') controller.enqueue(resourceKey(o.kind, o.metadata.name));
  });
  return {
    resolver,
    controller,
    reconciler,
    close: () => {
      unwatch();
      resolver.close();
    },
  };
}
