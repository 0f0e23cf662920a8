import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createProposalController, ProposalService } from '../../../../controllers/proposal/index.ts';
import { ControllerManager } from '../../../../controllers/runtime/index.ts';
import { silentLogger } from '../../../../resources/log.ts';
import { waitFor } from '../../../support/wait.ts';
import { alice, container, setup, WEB_YAML } from './fixtures.ts';

test('the proposal controller marks a Pending proposal Stale when its target file is edited, and Expired at expiresAt', async (t) => {
  const f = await setup(t, { 'web.yaml': WEB_YAML });
  // Real time here: the controller's requeue at expiresAt is what is under test.
  const service = new ProposalService({ store: f.store, source: f.source, audit: f.audit, manifestsDir: f.manifests, logger: silentLogger, git: false });
  const manager = new ControllerManager({ store: f.store, logger: silentLogger });
  const { stop } = createProposalController(manager, { store: f.store, service });
  manager.start();
  t.after(async () => {
    stop();
    await manager.stop();
  });

  const stale = await service.propose({ changes: [{ operation: 'update', object: container('web', { state: 'stopped' }) }], reason: 'x', proposedBy: alice.identity });
  const expiring = await service.propose({ changes: [{ operation: 'create', object: container('api') }], reason: 'y', proposedBy: alice.identity, expiresInMs: 300 });
  assert.equal(service.get(stale.metadata.name)!.status?.phase, 'Pending');

  await writeFile(join(f.manifests, 'web.yaml'), WEB_YAML.replace('state: running', 'state: running\n  restartPolicy: always'));
  await f.source.rescan();
  const marked = await waitFor(() => (service.get(stale.metadata.name)!.status?.phase === 'Stale' ? service.get(stale.metadata.name) : undefined));
  assert.match(String(marked.status?.message), /Container\/web changed/);

  await waitFor(() => service.get(expiring.metadata.name)!.status?.phase === 'Expired');
  const actions = (await f.auditLines()).map((l) => l.action);
  assert.ok(actions.includes('proposal.stale') && actions.includes('proposal.expired'), actions.join(', '));
});
