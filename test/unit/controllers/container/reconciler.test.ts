import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceStore } from '../../../../resources/store.ts';
import type { ResourceStatus } from '../../../../resources/types.ts';
import { getCondition, MemoryEventRecorder, TerminalError } from '../../../../controllers/runtime/index.ts';
import { ContainerReconciler, planAction, type ContainerReconcilerOptions } from '../../../../controllers/container/reconciler.ts';
import { DockerApiError } from '../../../../controllers/container/engine.ts';
import { configHash, LABEL_CONFIG_HASH, LABEL_RESTARTED_AT, type ContainerSpec } from '../../../../controllers/container/spec.ts';
import type { ContainerObservation } from '../../../../controllers/container/engine.ts';
import { FakeDockerEngine } from '../../../support/docker-fake.ts';

const IMAGE = 'systemmanager-test/busybox:1';

interface Rig {
  store: ResourceStore;
  engine: FakeDockerEngine;
  rec: ContainerReconciler;
  recorder: MemoryEventRecorder;
  clock: { t: number };
  apply(name: string, spec: Partial<ContainerSpec>): void;
  reconcile(name: string): ReturnType<ContainerReconciler['reconcile']>;
  status(name: string): ResourceStatus;
}

async function rig(t: TestContext, opts: Partial<ContainerReconcilerOptions> = {}): Promise<Rig> {
  const clock = { t: Date.parse('2025-06-01T12:00:00Z') };
  const now = () => new Date(clock.t);
  const store = await ResourceStore.open({ now });
  t.after(() => store.close());
  store.setSourceState({ synced: true, empty: false, pruneAllowed: true });
  const engine = new FakeDockerEngine();
  engine.now = now;
  engine.addImage(IMAGE, 'sha256:1111');
  const recorder = new MemoryEventRecorder({ now });
  const rec = new ContainerReconciler({ store, engine, recorder, now, ...opts });
  return {
    store,
    engine,
    rec,
    recorder,
    clock,
    apply: (name, spec) => void store.upsert({ apiVersion: 'systemmanager.io/v1alpha1', kind: 'Container', metadata: { name }, spec: { image: IMAGE, ...spec } }),
    reconcile: (name) => rec.reconcile(`Container/${name}`, AbortSignal.timeout(5000)),
    status: (name) => store.get('Container', name)?.status ?? {},
  };
}

function ready(r: Rig, name: string) {
  return getCondition(r.store.get('Container', name)?.status, 'Ready');
}

test('creates and starts a container, labelled with the config hash, and reports it Ready', async (t) => {
  const r = await rig(t);
  r.apply('web', { args: ['sleep', '1000'] });
  assert.deepEqual(await r.reconcile('web'), {});
  assert.deepEqual(r.engine.calls, ['create web', 'start web']);
  const c = r.engine.byName('web')!;
  assert.equal(c.request.Labels?.[LABEL_CONFIG_HASH], configHash({ image: IMAGE, args: ['sleep', '1000'] }));
  assert.equal(c.request.HostConfig?.NetworkMode, 'none');
  const st = r.status('web');
  assert.equal(st.containerID, c.id);
  assert.equal(st.imageID, 'sha256:1111');
  assert.equal(st.state, 'running');
  assert.equal(st.configHash, c.request.Labels?.[LABEL_CONFIG_HASH]);
  assert.equal(st.observedGeneration, 1);
  assert.equal(ready(r, 'web')?.status, 'True');
  assert.equal(ready(r, 'web')?.reason, 'Running');
});

test('a no-op edit does nothing; a spec change recreates; an image with a new ID recreates', async (t) => {
  const r = await rig(t);
  r.apply('web', { args: ['sleep', '1000'] });
  await r.reconcile('web');
  const first = r.engine.byName('web')!.id;
  r.engine.calls.length = 0;

  r.apply('web', { args: ['sleep', '1000'], network: 'none', restartPolicy: 'no', env: [] });
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, [], 'spelling out defaults changes nothing');
  assert.equal(r.engine.byName('web')!.id, first);

  r.apply('web', { args: ['sleep', '2000'] });
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['stop web', 'remove web', 'create web', 'start web']);
  const second = r.engine.byName('web')!.id;
  assert.notEqual(second, first);
  assert.equal(r.status('web').containerID, second);

  r.engine.calls.length = 0;
  r.engine.addImage(IMAGE, 'sha256:2222');
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['stop web', 'remove web', 'create web', 'start web']);
  assert.equal(r.status('web').imageID, 'sha256:2222');
});

test('state stopped stops the container and running starts it again, keeping its ID', async (t) => {
  const r = await rig(t);
  r.apply('web', {});
  await r.reconcile('web');
  const id = r.engine.byName('web')!.id;
  r.engine.calls.length = 0;
  r.apply('web', { state: 'stopped' });
  let during: string | undefined;
  r.engine.before.set('stop', () => (during = `${getCondition(r.status('web'), 'Reconciling')?.status} ${ready(r, 'web')?.status} ${ready(r, 'web')?.message}`));
  await r.reconcile('web');
  r.engine.before.delete('stop');
  assert.equal(during, 'True Unknown stop: spec.state is stopped', 'Reconciling is visible while the action runs');
  assert.equal(getCondition(r.status('web'), 'Reconciling'), undefined);
  assert.deepEqual(r.engine.calls, ['stop web']);
  assert.equal(r.status('web').state, 'exited');
  assert.equal(ready(r, 'web')?.reason, 'Stopped');
  assert.equal(ready(r, 'web')?.status, 'True');
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['stop web'], 'a stopped container stays stopped');
  r.apply('web', { state: 'running' });
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['stop web', 'start web']);
  assert.equal(r.engine.byName('web')!.id, id);
});

test('a container stopped behind our back is started again', async (t) => {
  const r = await rig(t, { crashLoop: { minUptimeMs: 10_000 } });
  r.apply('web', {});
  await r.reconcile('web');
  r.clock.t += 60_000;
  r.engine.crash('web');
  r.engine.calls.length = 0;
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['start web']);
  assert.equal(ready(r, 'web')?.status, 'True');
});

test('a new restartedAt restarts the container once; a future one is scheduled', async (t) => {
  const r = await rig(t);
  r.apply('web', {});
  await r.reconcile('web');
  r.engine.calls.length = 0;
  r.clock.t += 5_000;
  r.apply('web', { restartedAt: new Date(r.clock.t).toISOString() });
  r.clock.t += 1_000;
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['restart web']);
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['restart web'], 'the same restartedAt does not restart twice');

  r.apply('web', { restartedAt: new Date(r.clock.t + 30_000).toISOString() });
  const res = await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['restart web']);
  assert.equal(res.requeueAfterMs, 30_000);
  r.clock.t += 30_001;
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['restart web', 'restart web']);
});

test('planAction decides create, recreate, start, stop, restart and nothing', () => {
  const spec: ContainerSpec = { image: IMAGE };
  const now = new Date('2025-06-01T12:00:00Z');
  const obs = (o: Partial<ContainerObservation>): ContainerObservation => ({
    id: 'abc',
    name: 'web',
    imageId: 'sha256:1',
    labels: { [LABEL_CONFIG_HASH]: configHash(spec) },
    status: 'running',
    running: true,
    paused: false,
    restarting: false,
    exitCode: 0,
    error: '',
    oomKilled: false,
    startedAt: '2025-06-01T11:00:00Z',
    restartCount: 0,
    ...o,
  });
  const plan = (s: ContainerSpec, current: ContainerObservation | undefined, localImageId = 'sha256:1') => planAction({ spec: s, current, localImageId, now }).action;
  assert.equal(plan(spec, undefined), 'create');
  assert.equal(plan(spec, obs({ labels: { [LABEL_CONFIG_HASH]: 'old' } })), 'recreate');
  assert.equal(plan(spec, obs({}), 'sha256:2'), 'recreate');
  assert.equal(plan(spec, obs({ running: false, status: 'exited' })), 'start');
  assert.equal(plan({ ...spec, state: 'stopped' }, obs({})), 'stop');
  assert.equal(plan({ ...spec, state: 'stopped' }, obs({ running: false, status: 'exited' })), 'none');
  assert.equal(plan({ ...spec, restartedAt: '2025-06-01T11:30:00Z' }, obs({})), 'restart');
  assert.equal(plan({ ...spec, restartedAt: '2025-06-01T10:30:00Z' }, obs({})), 'none', 'started after restartedAt');
  assert.equal(
    plan({ ...spec, restartedAt: '2025-06-01T11:30:00Z' }, obs({ labels: { [LABEL_CONFIG_HASH]: configHash(spec), [LABEL_RESTARTED_AT]: '2025-06-01T11:30:00Z' } })),
    'none',
    'created with this restartedAt',
  );
  assert.equal(plan(spec, obs({})), 'none');
  assert.equal(plan(spec, obs({ paused: true, status: 'paused' })), 'unpause');
  assert.equal(plan({ ...spec, state: 'stopped' }, obs({ paused: true, status: 'paused' })), 'stop');
  assert.equal(plan(spec, obs({ running: false, restarting: true, status: 'restarting' })), 'none', "Docker's restart policy is at work");
});

test('a spec the policy refuses is Stalled with PolicyViolation and never created', async (t) => {
  const r = await rig(t);
  r.apply('bad', { privileged: true, volumes: [{ type: 'bind', source: '/var/run/docker.sock', target: '/s' }] });
  await assert.rejects(r.reconcile('bad'), (err: unknown) => err instanceof TerminalError && err.reason === 'PolicyViolation' && /privileged/.test(err.message) && /Docker socket/.test(err.message));
  assert.deepEqual(r.engine.calls, []);
  assert.equal(getCondition(r.status('bad'), 'Stalled')?.reason, 'PolicyViolation');
  const ok = await rig(t, { policy: { allowPrivileged: true, allowDockerSocketBind: true } });
  ok.apply('bad', { privileged: true, volumes: [{ type: 'bind', source: '/var/run/docker.sock', target: '/s' }] });
  await ok.reconcile('bad');
  assert.deepEqual(ok.engine.calls, ['create bad', 'start bad']);
});

test('a name held by an unmanaged container is Stalled NameConflict, never touched, and recovers when it goes', async (t) => {
  const r = await rig(t, { nameConflictRecheckMs: 12_345 });
  const other = r.engine.addUnmanaged('web');
  r.apply('web', {});
  const res = await r.reconcile('web');
  assert.equal(res.requeueAfterMs, 12_345);
  assert.deepEqual(r.engine.calls, []);
  assert.equal(r.engine.containers.get(other.id)?.status, 'running');
  assert.equal(getCondition(r.status('web'), 'Stalled')?.reason, 'NameConflict');
  assert.match(ready(r, 'web')?.message ?? '', /exists without the label io\.systemmanager\.managed-by/);
  assert.equal(r.recorder.list('Container/web')[0]?.reason, 'NameConflict');
  // A container that only pretends (wrong name label) is not ours either.
  r.engine.containers.delete(other.id);
  r.engine.addUnmanaged('web', { 'io.systemmanager.managed-by': 'systemmanager', 'io.systemmanager.name': 'other' });
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, []);
  for (const c of [...r.engine.containers.values()]) r.engine.containers.delete(c.id);
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['create web', 'start web']);
  assert.equal(getCondition(r.status('web'), 'Stalled'), undefined);
  assert.equal(ready(r, 'web')?.status, 'True');
});

test('prune removes the containers of a deleted resource, but not while the source forbids pruning', async (t) => {
  const r = await rig(t);
  r.apply('web', {});
  await r.reconcile('web');
  const unmanaged = r.engine.addUnmanaged('bystander');
  r.store.delete('Container', 'web');
  r.store.setSourceState({ synced: true, empty: true, pruneAllowed: false, message: 'the manifests directory is empty' });
  r.engine.calls.length = 0;
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, [], 'guarded: nothing removed');
  assert.ok(r.engine.byName('web'));
  assert.match(r.recorder.list('Container/web').find((e) => e.reason === 'PruneBlocked')?.message ?? '', /pruning is not allowed now \(the manifests directory is empty\)/);
  assert.ok(r.rec.blockedPrunes().has('web'));

  r.store.setSourceState({ synced: true, empty: false, pruneAllowed: true });
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['stop web', 'remove web']);
  assert.equal(r.engine.byName('web'), undefined);
  assert.equal(r.rec.blockedPrunes().size, 0);
  assert.ok(r.engine.containers.has(unmanaged.id), 'unmanaged containers are never pruned');
});

test('a dependent waits (DependencyNotReady naming its dependency) until the dependency runs', async (t) => {
  const r = await rig(t, { dependencyRecheckMs: 777 });
  r.apply('db', {});
  r.apply('app', { dependsOn: ['db'] });
  const res = await r.reconcile('app');
  assert.equal(res.requeueAfterMs, 777);
  assert.deepEqual(r.engine.calls, []);
  assert.equal(ready(r, 'app')?.status, 'False');
  assert.equal(ready(r, 'app')?.reason, 'DependencyNotReady');
  assert.match(ready(r, 'app')?.message ?? '', /Container\/db \(not created yet\)/);
  await r.reconcile('db');
  await r.reconcile('app');
  assert.deepEqual(r.engine.calls, ['create db', 'start db', 'create app', 'start app']);
  assert.equal(ready(r, 'app')?.status, 'True');
  assert.equal(getCondition(r.status('app'), 'Reconciling'), undefined);
});

test('a dependency with a health check must be healthy first', async (t) => {
  const r = await rig(t);
  r.apply('db', { healthcheck: { test: ['CMD', 'true'] } });
  r.apply('app', { dependsOn: ['db'] });
  await r.reconcile('db');
  assert.equal(getCondition(r.status('db'), 'Reconciling')?.reason, 'HealthCheckPending');
  await r.reconcile('app');
  assert.match(ready(r, 'app')?.message ?? '', /Container\/db \(health: starting\)/);
  r.engine.byName('db')!.health = 'healthy';
  await r.reconcile('db');
  assert.equal(ready(r, 'db')?.status, 'True');
  await r.reconcile('app');
  assert.equal(ready(r, 'app')?.status, 'True');
});

test('a dependsOn cycle is a TerminalError', async (t) => {
  const r = await rig(t);
  r.apply('a', { dependsOn: ['b'] });
  r.apply('b', { dependsOn: ['a'] });
  await assert.rejects(r.reconcile('a'), (err: unknown) => err instanceof TerminalError && err.reason === 'DependencyCycle' && /a → b → a/.test(err.message));
});

test('suspend leaves the container alone and says so', async (t) => {
  const r = await rig(t);
  r.apply('web', {});
  await r.reconcile('web');
  r.engine.calls.length = 0;
  r.apply('web', { suspend: true, args: ['changed'] });
  r.engine.crash('web');
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, []);
  assert.equal(ready(r, 'web')?.status, 'Unknown');
  assert.equal(ready(r, 'web')?.reason, 'Suspended');
  assert.equal(r.status('web').state, 'exited', 'status still reports what is observed');
});

test('pullPolicy Never with a missing image fails with ImageNotPresent; a failed pull carries the daemon message', async (t) => {
  const r = await rig(t);
  r.apply('web', { image: 'missing/image:1', pullPolicy: 'Never' });
  await assert.rejects(r.reconcile('web'), (err: Error & { code?: string }) => err.code === 'IMAGE_NOT_PRESENT' && /missing\/image:1/.test(err.message));
  assert.deepEqual(r.engine.calls, []);
  r.apply('web', { image: 'missing/image:1' });
  await assert.rejects(r.reconcile('web'), (err: Error & { code?: string }) => err.code === 'IMAGE_PULL_FAILED' && /no such host/.test(err.message));
  assert.deepEqual(r.engine.calls, ['pull missing/image:1']);
  r.engine.pullable.set('missing/image:1', 'sha256:3333');
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['pull missing/image:1', 'pull missing/image:1', 'create web', 'start web']);
});

test('an unreachable engine throws DockerUnavailable naming the socket', async (t) => {
  const r = await rig(t);
  r.apply('web', {});
  r.engine.available = false;
  await assert.rejects(r.reconcile('web'), (err: Error & { code?: string }) => err.code === 'DOCKER_UNAVAILABLE' && err.message.includes('/fake/docker.sock'));
});

test('a create the daemon rejects with 400 is terminal with its message; a failed start is retried', async (t) => {
  const r = await rig(t);
  r.apply('web', {});
  r.engine.failures.set('create', new DockerApiError('create container web', 400, 'invalid mount config for type "bind": bind source path does not exist: /nope'));
  await assert.rejects(r.reconcile('web'), (err: unknown) => err instanceof TerminalError && err.reason === 'InvalidSpec' && /bind source path does not exist/.test(err.message));
  r.engine.failures.set('start', new DockerApiError('start container', 500, 'driver failed programming external connectivity: Bind for 127.0.0.1:8080 failed: port is already allocated'));
  await assert.rejects(r.reconcile('web'), (err: Error & { code?: string }) => err.code === 'CONTAINER_START_FAILED' && /port is already allocated/.test(err.message));
  assert.equal(r.status('web').state, 'created', 'status shows the created container even though start failed');
  await r.reconcile('web');
  assert.equal(ready(r, 'web')?.status, 'True');
});

test('two resources claiming one host port: the later one waits with PortConflict naming the other', async (t) => {
  const r = await rig(t, { portConflictRecheckMs: 999 });
  const ports = [{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1' }];
  r.apply('first', { network: 'bridge', ports });
  r.clock.t += 1000;
  r.apply('second', { network: 'bridge', ports: [{ containerPort: 81, hostPort: 8080 }] });
  await r.reconcile('first');
  const res = await r.reconcile('second');
  assert.equal(res.requeueAfterMs, 999);
  assert.equal(ready(r, 'second')?.reason, 'PortConflict');
  assert.match(ready(r, 'second')?.message ?? '', /host port 8080\/tcp \(address any\) is also claimed by Container\/first \(address 127\.0\.0\.1\)/);
  assert.deepEqual(r.engine.calls, ['create first', 'start first']);
});

test('a container that exits right after each start is restarted with growing delays (CrashLoop), never hot', async (t) => {
  const r = await rig(t, { crashLoop: { minUptimeMs: 10_000, backoffBaseMs: 1_000, backoffMaxMs: 8_000 } });
  r.engine.exitOnStart.add('bad');
  r.engine.logs.set('bad', 'starting\nhttpd: bind: Address already in use\n');
  r.apply('bad', {});
  const starts: number[] = [];
  const t0 = r.clock.t;
  // Drive the reconciler as the runtime would: after each result, the clock moves to the requeue time.
  for (let i = 0; i < 40 && r.clock.t - t0 < 30_000; i++) {
    const before = r.engine.calls.filter((c) => c === 'start bad').length;
    const res = await r.reconcile('bad');
    if (r.engine.calls.filter((c) => c === 'start bad').length > before) starts.push(r.clock.t - t0);
    assert.ok(res.requeueAfterMs !== undefined && res.requeueAfterMs > 0, 'always a delay');
    r.clock.t += res.requeueAfterMs!;
  }
  assert.equal(ready(r, 'bad')?.reason, 'CrashLoop');
  assert.match(ready(r, 'bad')?.message ?? '', /code 1/);
  assert.match(ready(r, 'bad')?.message ?? '', /last output: starting \| httpd: bind: Address already in use$/);
  const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
  t.diagnostic(`starts at ${starts.join(', ')} ms`);
  // start, immediate first restart, then 1 s, 2 s, 4 s, 8 s, 8 s...: about 7 starts in 30 s.
  assert.ok(starts.length >= 4 && starts.length <= 8, `starts at ${starts.join(', ')}`);
  for (let i = 2; i < gaps.length; i++) assert.ok(gaps[i]! >= gaps[i - 1]! || gaps[i]! >= 8_000, `gaps grow: ${gaps.join(', ')}`);
  assert.ok(r.recorder.list('Container/bad').some((e) => e.reason === 'CrashLoop'));
});

test('duplicate managed containers for one name are reduced to one', async (t) => {
  const r = await rig(t);
  r.apply('web', {});
  await r.reconcile('web');
  const keep = r.engine.byName('web')!;
  const dup = r.engine.addUnmanaged('web-old', { ...keep.request.Labels });
  r.engine.calls.length = 0;
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['stop web-old', 'remove web-old']);
  assert.ok(!r.engine.containers.has(dup.id));
  assert.ok(r.engine.containers.has(keep.id));
});

test('hostSelector not matching this host removes what runs here and reports HostNotSelected', async (t) => {
  let labels = { role: 'web' };
  const r = await rig(t, { hostLabels: () => labels });
  r.apply('web', { hostSelector: { matchLabels: { role: 'web' } } });
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['create web', 'start web']);
  labels = { role: 'db' };
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['create web', 'start web', 'stop web', 'remove web']);
  assert.equal(ready(r, 'web')?.reason, 'HostNotSelected');
});

test('with an instance, only containers of that instance are ours: another instance holding the name is a clash, and never pruned', async (t) => {
  const r = await rig(t, { instance: 'blue' });
  r.engine.addUnmanaged('web', { 'io.systemmanager.managed-by': 'systemmanager', 'io.systemmanager.name': 'web', 'io.systemmanager.instance': 'green' });
  r.apply('web', {});
  await r.reconcile('web');
  assert.equal(getCondition(r.status('web'), 'Stalled')?.reason, 'NameConflict');
  r.apply('api', {});
  await r.reconcile('api');
  assert.equal(r.engine.byName('api')?.request.Labels?.['io.systemmanager.instance'], 'blue');
  r.store.delete('Container', 'web');
  await r.reconcile('web');
  assert.deepEqual(r.engine.calls, ['create api', 'start api'], "green's container is not pruned by blue");
});

test('one short run (docker stop soon after start) is restarted and Ready; a second short run in a row is CrashLoop', async (t) => {
  const r = await rig(t, { crashLoop: { minUptimeMs: 10_000, backoffBaseMs: 1_000 } });
  r.apply('web', {});
  await r.reconcile('web');
  r.clock.t += 2_000;
  r.engine.crash('web', 0);
  const first = await r.reconcile('web');
  assert.equal(ready(r, 'web')?.status, 'True', 'one short run is not a loop');
  assert.equal(first.requeueAfterMs, 10_050, 'looks again once it has stayed up, to clear the count');
  r.clock.t += 2_000;
  r.engine.crash('web', 0);
  const second = await r.reconcile('web');
  assert.equal(ready(r, 'web')?.reason, 'CrashLoop');
  assert.ok(second.requeueAfterMs! > 0);
  r.clock.t += second.requeueAfterMs!;
  await r.reconcile('web');
  r.clock.t += 11_000;
  await r.reconcile('web');
  assert.equal(ready(r, 'web')?.status, 'True', 'up for minUptime: the count is cleared');
  r.clock.t += 2_000;
  r.engine.crash('web', 0);
  await r.reconcile('web');
  assert.equal(ready(r, 'web')?.status, 'True', 'a later single short run starts from zero again');
});
