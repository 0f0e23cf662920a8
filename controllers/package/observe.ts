// Reading what the host has of one package, and how that shows in a Package's status. Read-only:
// nothing here changes the host.

import type { ResourceStatus } from '../../resources/types.ts';
import type { PackageBackend, PackageObservation } from './backend.ts';
import { compareDebianVersions } from './debian.ts';

/** observePackage asks the backend what the host has of `name` and what it could install. */
export function observePackage(backend: PackageBackend, name: string, signal?: AbortSignal): Promise<PackageObservation> {
  return backend.observe(name, signal);
}

/** isUpgradable tells whether an installed package has a newer candidate. */
export function isUpgradable(obs: PackageObservation): boolean {
  return obs.installedVersion !== undefined && obs.candidateVersion !== undefined && compareDebianVersions(obs.candidateVersion, obs.installedVersion) > 0;
}

/** setPackageFields writes installedVersion, candidateVersion and upgradable into a status copy (removing what is unknown). */
export function setPackageFields(st: ResourceStatus, obs: PackageObservation | undefined): void {
  if (obs?.installedVersion !== undefined && obs.state === 'installed') st.installedVersion = obs.installedVersion;
  else delete st.installedVersion;
  if (obs?.candidateVersion !== undefined) st.candidateVersion = obs.candidateVersion;
  else delete st.candidateVersion;
  if (obs) st.upgradable = obs.state === 'installed' && isUpgradable(obs);
  else delete st.upgradable;
}
