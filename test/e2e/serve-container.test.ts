// End to end, as a user would run it: `systemmanager serve --manifests DIR` with a Container manifest
// runs the container; editing the manifest, stopping the container behind the server's back, and
// deleting the manifest all converge. Real CLI process, real Docker engine.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerAvailable, dockerRequest, requirePart, TEST_IMAGE, DOCKER_HINT } from '../support/parts.ts';
import { tempDir } from '../support/manifests.ts';
import { waitFor } from '../support/wait.ts';

function containerManifest(name: string, extraEnv = ''): string {
  return `apiVersion: systemmanager.io/v1alpha1
kind: Container
metadata:
  name: ${name}
spec:
  image: ${TEST_IMAGE}
  command: ["sh", "-c", "sleep 3600"]
  network: none
  stopTimeout: 1s
  env:
    - name: GREETING
      value: "hello${extraEnv}"
`;
}

const keepAlive = `apiVersion: systemmanager.io/v1alpha1
kind: OutputPreference
metadata:
  name: everyone
spec:
  format: toon
`;

async function inspect(name: string): Promise<{ Id: string; State: { Running: boolean } } | undefined> {
  const r = await dockerRequest(`/containers/${name}/json`);
  return r.status === 200 ? (JSON.parse(r.body) as { Id: string; State: { Running: boolean } }) : undefined;
}

test('serve runs a Container manifest and converges on edit, drift and delete', async (t) => {
  if (!(await requirePart(t, 'Docker engine', () => dockerAvailable(), DOCKER_HINT))) return;
  const manifests = await tempDir(t, 'sm-e2e-manifests-');
  const state = await tempDir(t, 'sm-e2e-state-');
  const name = `e2e-web-${randomBytes(3).toString('hex')}`;
  t.after(() => dockerRequest(`/containers/${name}?force=1`, undefined, 'DELETE').catch(() => {}));
  await writeFile(join(manifests, 'keep.yaml'), keepAlive);
  await writeFile(join(manifests, 'web.yaml'), containerManifest(name));

  const child = spawn(process.execPath, ['bin/systemmanager.js', 'serve', '--manifests', manifests, '--state', state, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));

  const url = (await waitFor(() => /serving on (http:\/\/\S+)/.exec(stderr)?.[1], { timeoutMs: 30_000, message: 'the server announces its URL' }))!;
  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 200);

  const first = await waitFor(async () => ((await inspect(name))?.State.Running ? inspect(name) : undefined), { timeoutMs: 30_000, message: 'the container runs' });

  // Editing the spec recreates the container.
  await writeFile(join(manifests, 'web.yaml'), containerManifest(name, ' again'));
  const second = await waitFor(async () => {
    const c = await inspect(name);
    return c && c.Id !== first!.Id && c.State.Running ? c : undefined;
  }, { timeoutMs: 30_000, message: 'the container is recreated with the new spec' });

  // Stopped behind the server's back: started again.
  await dockerRequest(`/containers/${name}/stop?t=0`, undefined, 'POST');
  await waitFor(async () => (await inspect(name))?.State.Running, { timeoutMs: 15_000, message: 'the stopped container is started again' });
  assert.equal((await inspect(name))!.Id, second!.Id, 'repairing drift does not recreate');

  // Deleting the manifest removes the container (the other manifest keeps the source non-empty).
  await rm(join(manifests, 'web.yaml'));
  await waitFor(async () => (await inspect(name)) === undefined, { timeoutMs: 30_000, message: 'the container is removed' });

  child.kill('SIGTERM');
  assert.equal(await exited, 0, `graceful shutdown; stderr:\n${stderr.slice(-2000)}`);
  assert.match(stderr, /"msg":"stopped"/);
});
