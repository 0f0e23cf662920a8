// Risk of a proposal, derived from what it changes: the approver sees it first, and approval pages
// sort by it. The table is deliberately coarse and conservative; a proposal's risk is the highest
// risk of any of its changes.
//
// | change                                                                 | risk     |
// | ---------------------------------------------------------------------- | -------- |
// | any AccessToken change (create, update, delete)                        | critical |
// | a Container that would run privileged, add capabilities, use the host  | critical |
// |   network or PID namespace, or bind-mount `/` or the Docker socket     |          |
// | any delete (of a kind not above)                                       | high     |
// | Host (its labels decide which resources this agent reconciles)         | high     |
// | Container, Image, Package create/update                                | moderate |
// | HealthProbe, OutputPreference create/update                            | low      |

import type { DesiredResource } from '../../resources/types.ts';

/** Risk is a proposal's risk level, lowest first. */
export type Risk = 'low' | 'moderate' | 'high' | 'critical';

/** RISK_ORDER lists risk levels from lowest to highest. */
export const RISK_ORDER: readonly Risk[] = ['low', 'moderate', 'high', 'critical'];

/** RiskInput is the part of a change the risk depends on. */
export interface RiskInput {
  operation: 'create' | 'update' | 'delete';
  kind: string;
  object?: DesiredResource;
}

/** changeRisk rates one change by the table above. */
export function changeRisk(change: RiskInput): Risk {
  if (change.kind === 'AccessToken') return 'critical';
  if (change.kind === 'Container' && change.object && containerIsPrivileged(change.object.spec)) return 'critical';
  if (change.operation === 'delete') return 'high';
  switch (change.kind) {
    case 'Host':
      return 'high';
    case 'Container':
    case 'Image':
    case 'Package':
      return 'moderate';
    case 'HealthProbe':
    case 'OutputPreference':
      return 'low';
    default:
      return 'high'; // a kind this table does not know yet: make a person look twice
  }
}

/** proposalRisk is the highest risk of any change. */
export function proposalRisk(changes: readonly RiskInput[]): Risk {
  let worst = 0;
  for (const c of changes) worst = Math.max(worst, RISK_ORDER.indexOf(changeRisk(c)));
  return RISK_ORDER[worst]!;
}

/** containerIsPrivileged tells whether a Container spec asks for host-level power. */
export function containerIsPrivileged(spec: Record<string, unknown> | undefined): boolean {
  if (!spec) return false;
  if (spec.privileged === true) return true;
  if (Array.isArray(spec.capAdd) && spec.capAdd.length > 0) return true;
  if (spec.network === 'host' || spec.pid === 'host' || spec.ipc === 'host') return true;
  if (Array.isArray(spec.volumes)) {
    for (const v of spec.volumes as Array<{ type?: unknown; source?: unknown }>) {
      if (v?.type !== 'bind' || typeof v.source !== 'string') continue;
      const source = v.source.replace(/\/+$/, '') || '/';
      if (source === '/' || /(^|\/)docker\.sock$/.test(source) || source === '/var/run' || source === '/run') return true;
    }
  }
  return false;
}
