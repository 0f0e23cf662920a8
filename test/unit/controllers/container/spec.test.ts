import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCreateRequest,
  checkPolicy,
  configHash,
  LABEL_CONFIG_HASH,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_RESTARTED_AT,
  parseDurationMs,
  parseQuantity,
  selectorMatches,
  type ContainerSpec,
} from '../../../../controllers/container/spec.ts';

const base: ContainerSpec = {
  image: 'systemmanager-test/busybox:1',
  command: ['sh', '-c'],
  args: ['sleep 1000'],
  env: [
    { name: 'B', value: '2' },
    { name: 'A', value: '1' },
  ],
  healthcheck: { test: ['CMD', 'true'], interval: '60s' },
  resources: { memory: '64Mi', cpus: 0.5 },
};

test('configHash ignores key order and spelled-out defaults (a no-op edit keeps the hash)', () => {
  const reordered = JSON.parse(JSON.stringify({ resources: base.resources, healthcheck: base.healthcheck, env: base.env, args: base.args, command: base.command, image: base.image }));
  assert.equal(configHash(reordered as ContainerSpec), configHash(base));
  const explicit: ContainerSpec = {
    ...base,
    network: 'none',
    restartPolicy: 'no',
    privileged: false,
    readOnlyRootFilesystem: false,
    env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
    healthcheck: { test: ['CMD', 'true'], interval: '1m' },
    resources: { memory: '67108864', cpus: 0.5 },
    capAdd: [],
    labels: {},
  };
  assert.equal(configHash(explicit), configHash(base));
});

test('configHash leaves out the fields that steer the controller but do not define the container', () => {
  const steering: ContainerSpec = {
    ...base,
    state: 'stopped',
    restartedAt: '2025-01-01T00:00:00Z',
    suspend: true,
    dependsOn: ['db'],
    pullPolicy: 'Never',
    hostSelector: { matchLabels: { role: 'web' } },
  };
  assert.equal(configHash(steering), configHash(base));
});

test('configHash changes when a field that defines the container changes', () => {
  const h = configHash(base);
  const edits: Array<Partial<ContainerSpec>> = [
    { image: 'systemmanager-test/busybox:2' },
    { args: ['sleep 999'] },
    { env: [{ name: 'A', value: 'x' }] },
    { network: 'host' },
    { restartPolicy: 'always' },
    { resources: { memory: '128Mi' } },
    { volumes: [{ type: 'tmpfs', target: '/tmp' }] },
    { labels: { team: 'a' } },
    { user: '1000' },
    { stopTimeout: '30s' },
    { capDrop: ['ALL'] },
  ];
  const seen = new Set([h]);
  for (const e of edits) {
    const next = configHash({ ...base, ...e });
    assert.ok(!seen.has(next), `edit ${JSON.stringify(e)} should change the hash`);
    seen.add(next);
  }
});

test('buildCreateRequest puts the ownership and hash labels on the container and defaults the network to none', () => {
  const spec: ContainerSpec = { ...base, restartedAt: '2025-01-01T00:00:00Z', labels: { team: 'a' } };
  const r = buildCreateRequest('web', spec);
  assert.equal(r.name, 'web');
  assert.equal(r.Labels?.[LABEL_MANAGED_BY], 'systemmanager');
  assert.equal(r.Labels?.[LABEL_NAME], 'web');
  assert.equal(r.Labels?.[LABEL_CONFIG_HASH], configHash(spec));
  assert.equal(r.Labels?.[LABEL_RESTARTED_AT], '2025-01-01T00:00:00Z');
  assert.equal(r.Labels?.team, 'a');
  assert.equal(r.HostConfig?.NetworkMode, 'none');
  assert.equal(r.HostConfig?.Memory, 64 * 1024 * 1024);
  assert.equal(r.HostConfig?.NanoCpus, 500_000_000);
  assert.deepEqual(r.Entrypoint, ['sh', '-c']);
  assert.deepEqual(r.Cmd, ['sleep 1000']);
  assert.deepEqual(r.Env, ['B=2', 'A=1']);
  assert.equal(r.Healthcheck?.Interval, 60e9);
});

test('buildCreateRequest publishes ports only on networks that can publish them', () => {
  const ports = [{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1' }];
  assert.equal(buildCreateRequest('a', { image: 'x', ports }).HostConfig?.PortBindings, undefined);
  assert.equal(buildCreateRequest('a', { image: 'x', ports, network: 'host' }).HostConfig?.PortBindings, undefined);
  const bridged = buildCreateRequest('a', { image: 'x', ports, network: 'bridge' });
  assert.deepEqual(bridged.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] });
  assert.deepEqual(bridged.ExposedPorts, { '80/tcp': {} });
});

test('buildCreateRequest renders mounts, with no source for tmpfs', () => {
  const r = buildCreateRequest('a', {
    image: 'x',
    volumes: [
      { type: 'tmpfs', target: '/run' },
      { type: 'bind', source: '/srv/data', target: '/data', readOnly: true },
    ],
  });
  assert.deepEqual(r.HostConfig?.Mounts, [
    { Type: 'bind', Source: '/srv/data', Target: '/data', ReadOnly: true },
    { Type: 'tmpfs', Target: '/run', ReadOnly: false },
  ]);
});

test('checkPolicy refuses privileged mode, SYS_ADMIN and ALL, and bind mounts of / or the Docker socket', () => {
  const cases: Array<[Partial<ContainerSpec>, RegExp]> = [
    [{ privileged: true }, /privileged/],
    [{ capAdd: ['SYS_ADMIN'] }, /SYS_ADMIN/],
    [{ capAdd: ['CAP_SYS_ADMIN'] }, /SYS_ADMIN/],
    [{ capAdd: ['ALL'] }, /ALL/],
    [{ volumes: [{ type: 'bind', source: '/', target: '/host' }] }, /host root/],
    [{ volumes: [{ type: 'bind', source: '//./', target: '/host' }] }, /host root/],
    [{ volumes: [{ type: 'bind', source: '/var/run/docker.sock', target: '/s' }] }, /Docker socket/],
    [{ volumes: [{ type: 'bind', source: '/run', target: '/r' }] }, /Docker socket/],
    [{ volumes: [{ type: 'bind', source: '/var/', target: '/v' }] }, /Docker socket/],
    [{ volumes: [{ type: 'bind', source: '/srv/my.sock', target: '/s' }] }, /Docker socket/],
  ];
  for (const [extra, re] of cases) {
    const { violations } = checkPolicy({ image: 'x', ...extra }, {}, '/srv/my.sock');
    assert.equal(violations.length, 1, JSON.stringify(extra));
    assert.match(violations[0]!, re);
  }
  const fine = checkPolicy({ image: 'x', capAdd: ['NET_BIND_SERVICE'], volumes: [{ type: 'bind', source: '/srv/data', target: '/d' }, { type: 'volume', source: 'run', target: '/run' }] });
  assert.deepEqual(fine.violations, []);
  const allowed = checkPolicy(
    { image: 'x', privileged: true, capAdd: ['SYS_ADMIN'], volumes: [{ type: 'bind', source: '/', target: '/h' }, { type: 'bind', source: '/var/run/docker.sock', target: '/s' }] },
    { allowPrivileged: true, allowSysAdmin: true, allowRootBind: true, allowDockerSocketBind: true },
  );
  assert.deepEqual(allowed.violations, []);
});

test('parseDurationMs and parseQuantity read the schema formats', () => {
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('1.5s'), 1500);
  assert.throws(() => parseDurationMs('10'), /not a duration/);
  assert.throws(() => parseDurationMs('5s junk'), /not a duration/);
  assert.equal(parseQuantity('1Gi'), 1024 ** 3);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('512'), 512);
  assert.throws(() => parseQuantity('5m'), /not a quantity/);
});

test('selectorMatches applies matchLabels and matchExpressions together', () => {
  const labels = { role: 'web', zone: 'a' };
  assert.ok(selectorMatches({}, labels));
  assert.ok(selectorMatches({ matchLabels: { role: 'web' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }, labels));
  assert.ok(!selectorMatches({ matchLabels: { role: 'db' } }, labels));
  assert.ok(!selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels));
  assert.ok(!selectorMatches({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, labels));
  assert.ok(selectorMatches({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, labels));
});
