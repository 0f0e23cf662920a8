// Which build is running, in the shape of Go's *_build_info: a constant 1 carrying the versions.

import { Gauge, type Registry } from 'prom-client';

/** registerBuildInfo adds systemmanager_build_info{version,nodejs_version}. */
export function registerBuildInfo(registry: Registry, version: string): void {
  const info = new Gauge({ name: 'systemmanager_build_info', help: 'The running systemmanager version and Node.js version (always 1).', labelNames: ['version', 'nodejs_version'], registers: [registry] });
  info.set({ version, nodejs_version: process.version }, 1);
}
