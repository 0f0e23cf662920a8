// Packages from their status: installed or not, and whether apt offers a newer version.

import type { Registry } from 'prom-client';
import { SnapshotMetric } from './snapshot-metric.ts';
import { statusOf, stringField, type StoreReader } from './status-fields.ts';

// Debian versions are short printable words; anything else is left out of the info labels.
const VERSION = /^[A-Za-z0-9.+~:-]{1,128}$/;

/** registerPackageMetrics adds systemmanager_package_installed, _upgradable and _info. */
export function registerPackageMetrics(registry: Registry, store: StoreReader): void {
  const installed: SnapshotMetric<'name'> = new SnapshotMetric({
    type: 'gauge',
    name: 'systemmanager_package_installed',
    help: 'Whether a managed package is installed (1) or not (0), as last observed.',
    labelNames: ['name'],
    registry,
    collect() {
      installed.reset();
      upgradable.reset();
      info.reset();
      for (const p of store.list('Package')) {
        const name = p.metadata.name;
        const s = statusOf(p);
        if (!p.status || !('installedVersion' in s || 'candidateVersion' in s || 'upgradable' in s)) continue;
        const version = stringField(s, 'installedVersion');
        installed.set({ name }, version ? 1 : 0);
        upgradable.set({ name }, s.upgradable === true ? 1 : 0);
        const candidate = stringField(s, 'candidateVersion');
        info.set({ name, installed_version: version && VERSION.test(version) ? version : '', candidate_version: candidate && VERSION.test(candidate) ? candidate : '' }, 1);
      }
    },
  });
  const upgradable = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_package_upgradable', help: 'Whether apt offers a newer version of a managed package (1) or not (0).', labelNames: ['name'], registry });
  const info = new SnapshotMetric({ type: 'gauge', name: 'systemmanager_package_info', help: 'Installed and candidate version of a managed package (always 1).', labelNames: ['name', 'installed_version', 'candidate_version'], registry });
}
