// The container probe: a managed Container's health as the container controller last observed it.
// It reads the Container resource's status from the store, never Docker: the container controller
// already follows Docker's events, and a second reader would double the load on the engine.

import { getCondition } from '../runtime/index.ts';
import type { ContainerProbeSpec, ProbeContext, ProbeOutcome } from './spec.ts';

/** probeContainer succeeds when the Container is running and, if it has a health check, healthy. */
export function probeContainer(spec: ContainerProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  const container = ctx.store.get('Container', spec.name);
  if (!container) return Promise.resolve({ success: false, message: `Container ${spec.name} does not exist` });
  const status = container.status ?? {};
  const state = typeof status.state === 'string' ? status.state : undefined;
  const health = typeof status.health === 'string' ? status.health : undefined;
  if (!state) {
    const ready = getCondition(status, 'Ready');
    const why = ready?.message ? `: ${ready.message}` : '';
    return Promise.resolve({ success: false, message: `Container ${spec.name} has not been observed yet${why}` });
  }
  if (state !== 'running') return Promise.resolve({ success: false, message: `Container ${spec.name} is ${state}, not running` });
  if (health === undefined || health === 'none') return Promise.resolve({ success: true, message: `Container ${spec.name} is running (no health check)` });
  if (health === 'healthy') return Promise.resolve({ success: true, message: `Container ${spec.name} is running and healthy` });
  return Promise.resolve({ success: false, message: `Container ${spec.name} is running but its health is ${health}` });
}
