// The container controller against the real Docker engine (DESIGN §10), through the real
// ResourceStore and ControllerManager. Each test runs its own controller scoped to a unique
// instance label (so parallel runs never touch each other's containers) and removes every
// container of that instance in t.after. Timing is printed, never asserted beyond generous bounds.

import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { LABEL_CONFIG_HASH, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME } from '../../controllers/container/spec.ts';
import { getCondition } from '../../controllers/runtime/index.ts';
import { FOREVER, FaultDaemon, containersNamed, startRig } from '../support/docker-engine.ts';
import { DOCKER_HINT, TEST_IMAGE, commandAvailable, dockerAvailable, requirePart } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const T = { timeout: 90_000 };

async function inspect(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  return docker.getContainer(name).inspect().catch(() => undefined);
}

async function running(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  const c = await inspect(docker, name);
  return c?.State.Running ? c : undefined;
}

function needDocker(t: Parameters<typeof requirePart>[0]) {
  return requirePart(t, 'Docker engine', dockerAvailable, DOCKER_HINT);
}

test('creates a running container with the ownership labels, network none, and reports its status', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('web');
  rig.apply(name, { env: [{ name: 'GREETING', value: 'hi' }] });
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000, message: `${name} Ready` });
  const c = (await running(rig.docker, name))!;
  assert.ok(c, 'the container runs');
  assert.equal(c.Config.Labels[LABEL_MANAGED_BY], 'systemmanager');
  assert.equal(c.Config.Labels[LABEL_NAME], name);
  assert.equal(c.Config.Labels[LABEL_INSTANCE], rig.instance);
  assert.equal(c.HostConfig.NetworkMode, 'none');
  assert.ok(c.Config.Env.includes('GREETING=hi'));
  const st = rig.store.get('Container', name)!.status!;
  assert.equal(st.containerID, c.Id);
  assert.equal(st.imageID, c.Image);
  assert.equal(st.state, 'running');
  assert.equal(st.health, 'none');
  assert.equal(st.configHash, c.Config.Labels[LABEL_CONFIG_HASH]);
  assert.equal(st.observedGeneration, 1);
  assert.equal(st.startedAt, c.State.StartedAt);
});

test('a no-op edit keeps the container; a spec change recreates it, leaving exactly one', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('upd');
  rig.apply(name, { env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] });
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  const first = rig.store.get('Container', name)!.status!.containerID as string;

  // Same container, spelled differently: defaults written out, env in another order.
  const gen = rig.apply(name, { network: 'none', restartPolicy: 'no', env: [{ name: 'B', value: '2' }, { name: 'A', value: '1' }] }).metadata.generation;
  assert.equal(gen, 2);
  await waitFor(() => rig.store.get('Container', name)?.status?.observedGeneration === 2, { timeoutMs: 10_000 });
  assert.equal(rig.store.get('Container', name)!.status!.containerID, first, 'containerID unchanged');
  assert.equal((await inspect(rig.docker, name))?.Id, first);

  rig.apply(name, { env: [{ name: 'A', value: 'changed' }] });
  await waitFor(() => rig.store.get('Container', name)?.status?.observedGeneration === 3 && rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  const second = (await running(rig.docker, name))!;
  assert.notEqual(second.Id, first);
  assert.ok(second.Config.Env.includes('A=changed'));
  assert.equal(rig.store.get('Container', name)!.status!.containerID, second.Id);
  assert.equal(await inspect(rig.docker, first), undefined, 'the old container is gone');
  assert.equal((await containersNamed(rig.docker, name)).length, 1);
});

test('state stopped stops the container and running starts the same container again', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('state');
  rig.apply(name, {});
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  const id = (await running(rig.docker, name))!.Id;
  rig.apply(name, { state: 'stopped' });
  await waitFor(() => rig.ready(name)?.reason === 'Stopped' && rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  const stopped = (await inspect(rig.docker, name))!;
  assert.equal(stopped.State.Running, false);
  assert.equal(stopped.Id, id);
  assert.equal(rig.store.get('Container', name)!.status!.state, 'exited');
  rig.apply(name, { state: 'running' });
  await waitFor(() => rig.ready(name)?.reason === 'Running', { timeoutMs: 20_000 });
  assert.equal((await running(rig.docker, name))?.Id, id);
});

test('a new restartedAt restarts the container: StartedAt moves, the ID stays', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('restart');
  rig.apply(name, {});
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  const before = (await running(rig.docker, name))!;
  await new Promise((r) => setTimeout(r, 50));
  rig.apply(name, { restartedAt: new Date().toISOString() });
  const after = await waitFor(
    async () => {
      const c = await running(rig.docker, name);
      return c && c.State.StartedAt !== before.State.StartedAt ? c : undefined;
    },
    { timeoutMs: 20_000, message: 'StartedAt moves' },
  );
  assert.equal(after.Id, before.Id);
  assert.ok(Date.parse(after.State.StartedAt) > Date.parse(before.State.StartedAt));
  await waitFor(() => rig.store.get('Container', name)?.status?.startedAt === after.State.StartedAt, { timeoutMs: 5_000 });
  // Level-triggered: looking again does not restart again.
  rig.handle.controller.enqueue(`Container/${name}`);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await running(rig.docker, name))?.State.StartedAt, after.State.StartedAt);
});

test('deleting the resource prunes its container; unmanaged containers stay', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('prune');
  const bystander = rig.name('bystander');
  await rig.docker.createContainer({ name: bystander, Image: TEST_IMAGE, Cmd: FOREVER, Labels: { [LABEL_INSTANCE]: rig.instance }, HostConfig: { NetworkMode: 'none' } });
  rig.apply(name, {});
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  rig.store.delete('Container', name);
  await waitFor(async () => (await inspect(rig.docker, name)) === undefined, { timeoutMs: 20_000, message: 'pruned' });
  assert.ok(await inspect(rig.docker, bystander), 'the unmanaged container is untouched');
});

test('the empty-source guard: with pruneAllowed false nothing is removed, until pruning is allowed', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('guard');
  rig.apply(name, {});
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  rig.store.setSourceState({ synced: true, empty: true, pruneAllowed: false, message: 'the manifests directory is empty' });
  rig.store.delete('Container', name);
  assert.deepEqual(await rig.handle.scanOrphans(), [name], 'the orphan is found');
  await waitFor(() => rig.handle.reconciler.blockedPrunes().has(name), { timeoutMs: 10_000, message: 'prune reported as blocked' });
  assert.match(rig.handle.reconciler.blockedPrunes().get(name)!, /pruning is not allowed now \(the manifests directory is empty\)/);
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(await running(rig.docker, name), 'still running while pruning is not allowed');
  rig.store.setSourceState({ synced: true, empty: false, pruneAllowed: true });
  await waitFor(async () => (await inspect(rig.docker, name)) === undefined, { timeoutMs: 20_000, message: 'pruned once allowed' });
  assert.equal(rig.handle.reconciler.blockedPrunes().size, 0);
});

test('a name held by an unmanaged container is Stalled NameConflict and recovers when it goes', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t, { nameConflictRecheckMs: 500 });
  const name = rig.name('clash');
  const other = await rig.docker.createContainer({ name, Image: TEST_IMAGE, Cmd: FOREVER, Labels: { [LABEL_INSTANCE]: rig.instance }, HostConfig: { NetworkMode: 'none' } });
  await other.start();
  rig.apply(name, {});
  await waitFor(() => getCondition(rig.store.get('Container', name)?.status, 'Stalled')?.reason === 'NameConflict', { timeoutMs: 10_000 });
  assert.match(rig.ready(name)?.message ?? '', /without the label io\.systemmanager\.managed-by=systemmanager/);
  await new Promise((r) => setTimeout(r, 1200));
  const still = (await inspect(rig.docker, name))!;
  assert.equal(still.Id, other.id, 'the unmanaged container is never touched');
  assert.equal(still.State.Running, true);
  await other.remove({ force: true });
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000, message: 'recovers after the clash goes' });
  assert.equal(getCondition(rig.store.get('Container', name)?.status, 'Stalled'), undefined);
  assert.notEqual((await running(rig.docker, name))?.Id, other.id);
});

test('dependsOn: the dependent waits (DependencyNotReady) and is created after its dependency runs', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const db = rig.name('db');
  const app = rig.name('app');
  rig.apply(app, { dependsOn: [db] });
  await waitFor(() => rig.ready(app)?.reason === 'DependencyNotReady', { timeoutMs: 10_000 });
  assert.equal(rig.ready(app)?.status, 'False');
  assert.match(rig.ready(app)?.message ?? '', new RegExp(`Container/${db}`));
  assert.equal(await inspect(rig.docker, app), undefined, 'not created while waiting');
  rig.apply(db, { healthcheck: { test: ['CMD-SHELL', 'true'], interval: '1s', startPeriod: '0s' } });
  await waitFor(() => rig.ready(app)?.status === 'True', { timeoutMs: 30_000, message: 'dependent Ready' });
  const dbc = (await running(rig.docker, db))!;
  const appc = (await running(rig.docker, app))!;
  assert.equal(dbc.State.Health?.Status, 'healthy');
  assert.ok(Date.parse(appc.Created) > Date.parse(dbc.State.StartedAt), `app created ${appc.Created} after db started ${dbc.State.StartedAt}`);
});

test('suspend: the controller leaves the container alone and says so', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('susp');
  rig.apply(name, {});
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  rig.apply(name, { suspend: true });
  await waitFor(() => rig.ready(name)?.reason === 'Suspended', { timeoutMs: 10_000 });
  await rig.docker.getContainer(name).stop();
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await inspect(rig.docker, name))?.State.Running, false, 'drift is not repaired while suspended');
  await waitFor(() => rig.store.get('Container', name)?.status?.state === 'exited', { timeoutMs: 5_000, message: 'status still observed' });
  rig.apply(name, { suspend: false });
  await waitFor(async () => await running(rig.docker, name), { timeoutMs: 20_000, message: 'resumed' });
});

test('drift: a container stopped, removed or paused behind our back is repaired within seconds', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('drift');
  rig.apply(name, {});
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 20_000 });
  const before = (await running(rig.docker, name))!;

  await rig.docker.getContainer(name).stop({ t: 5 });
  const t0 = performance.now();
  await waitFor(async () => (await running(rig.docker, name))?.Id === before.Id, { timeoutMs: 10_000, intervalMs: 20, message: 'restarted after docker stop' });
  const stopMs = performance.now() - t0;

  await rig.docker.getContainer(name).remove({ force: true });
  const t1 = performance.now();
  const after = await waitFor(async () => await running(rig.docker, name), { timeoutMs: 10_000, intervalMs: 20, message: 'recreated after docker rm -f' });
  const rmMs = performance.now() - t1;
  assert.notEqual(after.Id, before.Id);
  await waitFor(() => rig.store.get('Container', name)?.status?.containerID === after.Id, { timeoutMs: 5_000 });

  await rig.docker.getContainer(name).pause();
  const t2 = performance.now();
  await waitFor(async () => (await running(rig.docker, name))?.State.Paused === false, { timeoutMs: 10_000, intervalMs: 20, message: 'unpaused after docker pause' });
  const pauseMs = performance.now() - t2;
  assert.equal((await inspect(rig.docker, name))?.Id, after.Id, 'unpaused, not recreated');
  t.diagnostic(`drift repair: after docker stop ${stopMs.toFixed(0)} ms, after docker rm -f ${rmMs.toFixed(0)} ms, after docker pause ${pauseMs.toFixed(0)} ms`);
});

test('pullPolicy Never with a missing image: Ready=False ImageNotPresent, nothing created', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('noimg');
  rig.apply(name, { image: 'systemmanager-test/not-there:1', pullPolicy: 'Never' });
  await waitFor(() => rig.ready(name)?.reason === 'ImageNotPresent', { timeoutMs: 10_000 });
  assert.equal(rig.ready(name)?.status, 'False');
  assert.match(rig.ready(name)?.message ?? '', /systemmanager-test\/not-there:1 is not present locally and pullPolicy is Never/);
  assert.equal(await inspect(rig.docker, name), undefined);
});

test('a pull that cannot succeed is a condition with the daemon message, retried (loopback registry only)', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('pull');
  // 127.0.0.1:1 refuses at once: the daemon never sends traffic off the host.
  rig.apply(name, { image: '127.0.0.1:1/nothing/here:1' });
  await waitFor(() => rig.ready(name)?.reason === 'ImagePullFailed', { timeoutMs: 10_000 });
  assert.match(rig.ready(name)?.message ?? '', /127\.0\.0\.1:1.*connection refused/);
  await waitFor(() => (rig.recorder.list(`Container/${name}`).find((e) => e.reason === 'ImagePullFailed')?.count ?? 0) >= 2, { timeoutMs: 10_000, message: 'retried' });
});

test('a spec the daemon rejects (HTTP 400) is Stalled with the daemon message', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t);
  const name = rig.name('reject');
  rig.apply(name, { volumes: [{ type: 'bind', source: `/nonexistent-${rig.instance}`, target: '/data' }] });
  await waitFor(() => getCondition(rig.store.get('Container', name)?.status, 'Stalled')?.reason === 'InvalidSpec', { timeoutMs: 10_000 });
  assert.match(rig.ready(name)?.message ?? '', /bind source path does not exist/);
  assert.equal(await inspect(rig.docker, name), undefined);
});

test('a container that exits right after it starts gets CrashLoop and a bounded number of restarts', T, async (t) => {
  if (!(await needDocker(t))) return;
  const rig = await startRig(t, { crashLoop: { minUptimeMs: 3000, backoffBaseMs: 500, backoffMaxMs: 8000 } });
  const name = rig.name('crash');
  const ac = new AbortController();
  t.after(() => ac.abort());
  const starts: number[] = [];
  const events = (await rig.docker.getEvents({
    filters: JSON.stringify({ type: ['container'], event: ['start'], label: [`${LABEL_NAME}=${name}`] }) as never,
    abortSignal: ac.signal,
  })) as unknown as NodeJS.ReadableStream;
  events.on('data', () => starts.push(performance.now()));
  events.on('error', () => {});
  const t0 = performance.now();
  rig.apply(name, { command: ['sh', '-c', 'exit 3'] });
  await waitFor(() => rig.ready(name)?.reason === 'CrashLoop', { timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 6000 - (performance.now() - t0)));
  const n = starts.length;
  t.diagnostic(`starts in 6 s: ${n} at ${starts.map((s) => ((s - t0) / 1000).toFixed(1)).join(', ')} s`);
  assert.ok(n >= 2, `restarted at least once (${n})`);
  assert.ok(n <= 8, `no hot loop: ${n} starts in 6 s`);
  assert.equal(rig.ready(name)?.status, 'False');
  assert.match(rig.ready(name)?.message ?? '', /code 3/);
});

test('a port already in use (host network, 127.0.0.1): the container\'s own error is in the CrashLoop condition, retried with backoff', T, async (t) => {
  if (!(await needDocker(t))) return;
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as AddressInfo).port;
  const rig = await startRig(t);
  const name = rig.name('port');
  rig.apply(name, { network: 'host', command: ['sh', '-c', `exec httpd -f -p 127.0.0.1:${port}`] });
  await waitFor(() => /Address (already )?in use/i.test(rig.ready(name)?.message ?? ''), { timeoutMs: 15_000, message: 'the bind error reaches the condition' });
  assert.equal(rig.ready(name)?.reason, 'CrashLoop');
  t.diagnostic(rig.ready(name)?.message ?? '');
  // Once the port is free, the next (backed-off) start succeeds.
  await new Promise<void>((resolve) => holder.close(() => resolve()));
  await waitFor(() => rig.ready(name)?.status === 'True', { timeoutMs: 30_000, message: 'runs once the port is free' });
  const res = await fetch(`http://127.0.0.1:${port}/`).catch((err: Error) => err);
  assert.ok(!(res instanceof Error), `busybox httpd answers on 127.0.0.1:${port}`);
});

test('fault: dockerd killed mid-reconcile → DockerUnavailable with backoff; after restart it converges with no duplicates', { timeout: 180_000 }, async (t) => {
  if (!(await requirePart(t, 'dockerd (a second Docker engine for the fault test)', () => commandAvailable('dockerd') && process.getuid?.() === 0, 'dockerd not installed or not root; run scripts/install-deps.sh'))) return;
  const daemon = new FaultDaemon();
  t.after(() => daemon.destroy());
  await daemon.start();
  const rig = await startRig(t, { socketPath: daemon.socketPath });
  const names = ['f1', 'f2', 'f3', 'f4'].map((n) => rig.name(n));
  for (const n of names) rig.apply(n, {});
  // Kill as soon as the first container exists: the others are mid-reconcile.
  await waitFor(async () => (await rig.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_INSTANCE}=${rig.instance}`] }) })).length > 0, { timeoutMs: 30_000, intervalMs: 5 });
  await daemon.kill('SIGKILL');
  const downAt = performance.now();
  // Some keys may have finished before the kill; a spec change makes every one of them look again.
  for (const n of names) rig.apply(n, { env: [{ name: 'ROUND', value: '2' }] });
  await waitFor(() => names.every((n) => rig.ready(n)?.reason === 'DockerUnavailable'), { timeoutMs: 20_000, message: 'all DockerUnavailable' });
  assert.match(rig.ready(names[0]!)?.message ?? '', new RegExp(daemon.socketPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await new Promise((r) => setTimeout(r, 3000));
  const tries = rig.recorder.list(`Container/${names[0]}`).filter((e) => e.reason === 'DockerUnavailable').reduce((s, e) => s + e.count, 0);
  const downS = (performance.now() - downAt) / 1000;
  t.diagnostic(`${tries} attempts for one key in ${downS.toFixed(1)} s while dockerd was down (backoff 100 ms doubling to 2 s)`);
  assert.ok(tries >= 2 && tries <= 12, `backs off: ${tries} attempts in ${downS.toFixed(1)} s`);

  const upAt = performance.now();
  await daemon.start();
  await waitFor(() => names.every((n) => rig.ready(n)?.status === 'True' && rig.store.get('Container', n)?.status?.observedGeneration === 2), {
    timeoutMs: 60_000,
    message: 'all converge after restart',
  });
  t.diagnostic(`converged ${((performance.now() - upAt) / 1000).toFixed(1)} s after dockerd answered again`);
  for (const n of names) {
    const rows = await containersNamed(rig.docker, n);
    const labelled = await rig.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_NAME}=${n}`] }) });
    assert.equal(rows.length, 1, `one container named ${n}`);
    assert.equal(labelled.length, 1, `one container labelled ${n}`);
    assert.equal(rows[0]!.State, 'running');
  }
});
