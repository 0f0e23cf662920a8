// Deciding what a Package needs (a pure function of spec and observation) and carrying it out
// through the backend. The plan is computed again after every change, so "done" means the host
// shows the desired state, not that apt-get exited 0.

import type { OperationOptions, OperationOutcome, PackageBackend, PackageObservation } from './backend.ts';
import { compareDebianVersions } from './debian.ts';

/** PackageState is spec.state. */
export type PackageState = 'present' | 'absent' | 'latest';

/** PackageSpec is the desired state of a Package resource. */
export interface PackageSpec {
  name: string;
  version?: string;
  state?: PackageState;
  suspend?: boolean;
  hostSelector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[] };
}

/** PackagePlan is what a reconcile has to do: nothing (with the Ready reason), an install, or a removal. */
export type PackagePlan =
  | { action: 'none'; reason: 'Installed' | 'Absent' | 'UpToDate'; message: string }
  | { action: 'install'; version?: string; verb: 'Install' | 'Upgrade' | 'Downgrade' | 'Repair'; needsIndex: boolean; message: string }
  | { action: 'remove'; message: string };

/** planPackage compares the spec with what the host has. `needsIndex`: the current index does not offer what the install needs. */
export function planPackage(spec: PackageSpec, obs: PackageObservation): PackagePlan {
  const state = spec.state ?? 'present';
  const name = spec.name;
  const installed = obs.state === 'installed' ? obs.installedVersion : undefined;
  if (state === 'absent') {
    if (obs.state === 'installed' || obs.state === 'broken') return { action: 'remove', message: `removing ${name} ${obs.installedVersion ?? ''}`.trim() };
    return { action: 'none', reason: 'Absent', message: `${name} is not installed` };
  }
  if (state === 'present' && spec.version !== undefined) {
    const pin = spec.version;
    if (installed !== undefined && compareDebianVersions(installed, pin) === 0) return { action: 'none', reason: 'Installed', message: `${name} ${installed} is installed (pinned)` };
    const offered = obs.availableVersions.some((v) => compareDebianVersions(v, pin) === 0);
    const verb = obs.state === 'broken' ? 'Repair' : installed === undefined ? 'Install' : compareDebianVersions(installed, pin) < 0 ? 'Upgrade' : 'Downgrade';
    return { action: 'install', version: pin, verb, needsIndex: !offered, message: `${verbing(verb)} ${name} ${pin}${installed ? ` (installed: ${installed})` : ''}` };
  }
  if (installed !== undefined) {
    if (state === 'present') return { action: 'none', reason: 'Installed', message: `${name} ${installed} is installed` };
    const candidate = obs.candidateVersion;
    if (candidate !== undefined && compareDebianVersions(candidate, installed) > 0) {
      return { action: 'install', verb: 'Upgrade', needsIndex: false, message: `upgrading ${name} ${installed} to ${candidate}` };
    }
    return { action: 'none', reason: 'UpToDate', message: `${name} ${installed} is installed and no newer version is available` };
  }
  const verb = obs.state === 'broken' ? 'Repair' : 'Install';
  return { action: 'install', verb, needsIndex: obs.candidateVersion === undefined, message: `${verbing(verb)} ${name}${obs.candidateVersion ? ` ${obs.candidateVersion}` : ''}` };
}

/** applyPlan carries out an install or removal plan; a `none` plan does nothing. */
export async function applyPlan(backend: PackageBackend, spec: PackageSpec, plan: PackagePlan, opts: OperationOptions): Promise<OperationOutcome | undefined> {
  switch (plan.action) {
    case 'none':
      return undefined;
    case 'remove':
      return backend.remove(spec.name, opts);
    case 'install':
      return backend.install(spec.name, plan.version, opts);
  }
}

/** reasonOfPlan is the Reconciling reason while a plan runs: Installing, Upgrading, Downgrading, Repairing or Removing. */
export function reasonOfPlan(plan: Exclude<PackagePlan, { action: 'none' }>): string {
  if (plan.action === 'remove') return 'Removing';
  return { Install: 'Installing', Upgrade: 'Upgrading', Downgrade: 'Downgrading', Repair: 'Repairing' }[plan.verb];
}

function verbing(verb: 'Install' | 'Upgrade' | 'Downgrade' | 'Repair'): string {
  return { Install: 'installing', Upgrade: 'upgrading', Downgrade: 'downgrading', Repair: 'repairing' }[verb];
}
