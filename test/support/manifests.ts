// Small builders for manifest text in tests.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** containerYaml renders a Container manifest; `extra` is appended under spec (indented 2). */
export function containerYaml(name: string, opts: { image?: string; hostPort?: number | string; extraSpec?: string } = {}): string {
  return [
    'apiVersion: systemmanager.io/v1alpha1',
    'kind: Container',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  image: ${opts.image ?? 'systemmanager-test/busybox:1'}`,
    '  ports:',
    '    - containerPort: 80',
    `      hostPort: ${opts.hostPort ?? 8080}`,
    ...(opts.extraSpec ? [opts.extraSpec] : []),
    '',
  ].join('\n');
}

/** tempDir makes a directory removed after the test. */
export async function tempDir(t: TestContext, prefix = 'sm-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
