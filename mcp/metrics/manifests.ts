// The manifests directory's health: how many files are valid, how many are not (their last good
// version stays in force), and how many problems there are, so an alert fires on a broken commit.

import { Gauge, type Registry } from 'prom-client';
import type { SourceSnapshot } from '../../resources/source.ts';

/** ManifestSourceReader is the part of the ManifestSource a scrape reads (an in-memory snapshot). */
export interface ManifestSourceReader {
  snapshot(): SourceSnapshot;
}

/** registerManifestMetrics adds systemmanager_manifest_files{state}, systemmanager_manifest_errors and systemmanager_manifest_resources. */
export function registerManifestMetrics(registry: Registry, source: ManifestSourceReader): void {
  const registers = [registry];
  const files: Gauge<'state'> = new Gauge({
    name: 'systemmanager_manifest_files',
    help: 'Manifest files in the manifests directory by state: valid, or invalid (their last good version stays in force).',
    labelNames: ['state'],
    registers,
    collect() {
      const s = source.snapshot();
      files.set({ state: 'valid' }, s.files - s.invalidFiles);
      files.set({ state: 'invalid' }, s.invalidFiles);
      errors.set(s.errors.length);
      resources.set(s.resources);
    },
  });
  const errors = new Gauge({ name: 'systemmanager_manifest_errors', help: 'Current problems in the manifests directory (invalid YAML, schema violations, duplicates, unreadable files).', registers });
  const resources = new Gauge({ name: 'systemmanager_manifest_resources', help: 'Resources the manifests directory declares (in force, before host selection).', registers });
}
