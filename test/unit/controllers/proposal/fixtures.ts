// A proposal service over real parts in a temp directory: a store with a state directory, a
// ManifestSource (not watching; tests rescan), a real AuditLog. Git is off here (see the
// integration test for git).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AuditLog, type AuditRecord } from '../../../../controllers/audit/index.ts';
import { ProposalService, type ProposalServiceOptions } from '../../../../controllers/proposal/index.ts';
import type { Principal } from '../../../../resources/identity.ts';
import { silentLogger } from '../../../../resources/log.ts';
import { expandScopes } from '../../../../resources/scopes.ts';
import { ManifestSource } from '../../../../resources/source.ts';
import { ResourceStore } from '../../../../resources/store.ts';
import type { DesiredResource } from '../../../../resources/types.ts';
import { tempDir } from '../../../support/manifests.ts';

export const alice: Principal = { identity: { agent: 'alice', tokenId: 'tok-alice' }, scopes: expandScopes(['proposals:approve']) };
export const bob: Principal = { identity: { agent: 'bob', tokenId: 'tok-bob', tailscaleLogin: 'bob@example.com' }, scopes: expandScopes(['proposals:approve']) };
export const carol: Principal = { identity: { agent: 'carol', tokenId: 'tok-carol' }, scopes: expandScopes(['readonly']) };

export function container(name: string, spec: Record<string, unknown> = {}): DesiredResource {
  return { apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name }, spec: { image: 'systemmanager-test/busybox:1', ...spec } };
}

export interface Fixture {
  root: string;
  manifests: string;
  state: string;
  store: ResourceStore;
  source: ManifestSource;
  audit: AuditLog;
  service: ProposalService;
  clock: { now: Date };
  auditLines(): Promise<AuditRecord[]>;
}

/** setup writes `files` (relative path → text) into a fresh manifests directory and starts everything. */
export async function setup(t: TestContext, files: Record<string, string> = {}, opts: Partial<ProposalServiceOptions> = {}): Promise<Fixture> {
  const root = await tempDir(t);
  const manifests = join(root, 'manifests');
  const state = join(root, 'state');
  await mkdir(manifests);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(manifests, rel, '..'), { recursive: true });
    await writeFile(join(manifests, rel), text);
  }
  const store = await ResourceStore.open({ stateDir: state });
  const source = new ManifestSource(store, { dir: manifests, watch: false });
  await source.start();
  const audit = await AuditLog.open(state);
  const clock = { now: new Date('2026-11-23T23:15:00Z') };
  const service = new ProposalService({ store, source, audit, manifestsDir: manifests, logger: silentLogger, git: false, now: () => clock.now, ...opts });
  t.after(async () => {
    await source.stop();
    await audit.close().catch(() => {});
    await store.close().catch(() => {});
  });
  return {
    root,
    manifests,
    state,
    store,
    source,
    audit,
    service,
    clock,
    auditLines: async () => audit.tail(10_000),
  };
}

export const WEB_YAML = [
  '# the web server',
  'apiVersion: systemmanager.io/v1alpha1',
  'kind: Container',
  'metadata:',
  '  name: web',
  'spec:',
  '  image: systemmanager-test/busybox:1 # pinned',
  '  state: running',
  '',
].join('\n');
