// The Helm chart without helm (none can be installed here): values files validate against
// values.schema.json; every template renders (with go-template.ts, the subset the chart uses) to YAML
// that parses; selectors match the labels they must select; the pod keeps its hardening; the alert
// rules pass `promtool check rules`; the dashboard ships as a Grafana sidecar ConfigMap.
// Not checked: Helm's real engine, Kubernetes API schemas, and behaviour on a cluster.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, parseAllDocuments } from 'yaml';
import { commandAvailable, requirePart } from '../../support/parts.ts';
import { Renderer } from './go-template.ts';

const CHART = fileURLToPath(new URL('../../../charts/systemmanager/', import.meta.url));
const run = promisify(execFile);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function merge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object' ? merge(base[k], v) : v;
  }
  return out;
}

async function chart() {
  const values = parse(await readFile(join(CHART, 'values.yaml'), 'utf8')) as Obj;
  const schema = JSON.parse(await readFile(join(CHART, 'values.schema.json'), 'utf8')) as Obj;
  const meta = parse(await readFile(join(CHART, 'Chart.yaml'), 'utf8')) as Obj;
  const files = (await readdir(join(CHART, 'templates'))).sort();
  const templates = Object.fromEntries(await Promise.all(files.map(async (f) => [f, await readFile(join(CHART, 'templates', f), 'utf8')] as const)));
  const dashboard = await readFile(join(CHART, 'dashboards', 'systemmanager.json'), 'utf8');
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(schema);
  return { values, validate, meta, templates, dashboard };
}

/** VARIANTS are the values files the chart supports, as overrides of values.yaml. */
const VARIANTS: Record<string, Obj> = {
  defaults: {},
  everything: {
    metrics: { auth: { enabled: true, secretName: 'scrape-token' }, serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus' } }, prometheusRule: { enabled: true, labels: { release: 'kube-prometheus' } } },
    tokens: { existingSecret: 'systemmanager-tokens' },
    server: { extraArgs: ['--host-label=role=web', '--allowed-host=box.tailnet.ts.net'] },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ operator: 'Exists' }],
  },
  gitSync: { manifests: { gitSync: { enabled: true, repo: 'https://git.example/fleet.git' } }, docker: { enabled: false }, hostRoot: { enabled: false }, dashboard: { enabled: false } },
};

async function render(overrides: Obj): Promise<Obj[]> {
  const c = await chart();
  const values = merge(c.values, overrides);
  assert.ok(c.validate(values), JSON.stringify(c.validate.errors));
  const renderer = new Renderer(
    { Values: values, Release: { Name: 'edge', Namespace: 'ops' }, Chart: { Name: c.meta.name, Version: c.meta.version, AppVersion: c.meta.appVersion }, Files: { 'dashboards/systemmanager.json': c.dashboard } },
    Object.entries(c.templates).filter(([f]) => f.endsWith('.tpl')).map(([, s]) => s),
  );
  const docs: Obj[] = [];
  for (const [file, src] of Object.entries(c.templates)) {
    if (file.endsWith('.tpl')) continue;
    const text = renderer.render(src);
    for (const d of parseAllDocuments(text)) {
      assert.deepEqual(d.errors, [], `${file} renders to invalid YAML:\n${text}`);
      const obj = d.toJS() as Obj | null;
      if (obj === null) continue;
      assert.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${file}: apiVersion, kind and metadata.name`);
      docs.push(obj);
    }
  }
  return docs;
}

const byKind = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind);
const subset = (small: Obj, big: Obj) => Object.entries(small).every(([k, v]) => big?.[k] === v);

test('values.yaml and every supported variant validate; bad values are refused by the schema', async () => {
  const c = await chart();
  for (const [name, over] of Object.entries(VARIANTS)) assert.ok(c.validate(merge(c.values, over)), `${name}: ${JSON.stringify(c.validate.errors)}`);
  const bad: Record<string, Obj> = {
    'root user': { securityContext: { runAsUser: 0 } },
    'auth without a secret': { metrics: { auth: { enabled: true } } },
    'git-sync without a repo': { manifests: { gitSync: { enabled: true } } },
    'unknown key': { replicas: 3 },
    'flag that is not a flag': { server: { extraArgs: ['rm -rf /'] } },
    'manifest name with a path': { manifests: { inline: { '../etc/passwd.yaml': 'x' } } },
    'no memory limit': { resources: { limits: { cpu: '1' } } },
    'port out of range': { metrics: { port: 70000 } },
  };
  for (const [name, over] of Object.entries(bad)) {
    const values = name === 'no memory limit' ? { ...c.values, resources: over.resources } : merge(c.values, over);
    assert.equal(c.validate(values), false, `${name} must be refused`);
  }
});

test('every template renders to parseable YAML, and selectors select the pods', async () => {
  for (const [name, over] of Object.entries(VARIANTS)) {
    const docs = await render(over);
    const [ds] = byKind(docs, 'DaemonSet');
    assert.ok(ds, `${name}: a DaemonSet`);
    const podLabels = ds.spec.template.metadata.labels;
    assert.ok(subset(ds.spec.selector.matchLabels, podLabels), `${name}: DaemonSet selector ⊆ pod labels`);
    const svc = byKind(docs, 'Service')[0]!;
    assert.ok(subset(svc.spec.selector, podLabels), `${name}: Service selector matches the pods`);
    const containerPorts = new Set(ds.spec.template.spec.containers[0].ports.map((p: Obj) => p.name));
    for (const p of svc.spec.ports) assert.ok(containerPorts.has(p.targetPort), `${name}: Service port ${p.name} targets a named container port`);
    for (const sm of byKind(docs, 'ServiceMonitor')) {
      assert.ok(subset(sm.spec.selector.matchLabels, svc.metadata.labels), `${name}: ServiceMonitor selects the Service`);
      assert.ok(svc.spec.ports.some((p: Obj) => p.name === sm.spec.endpoints[0].port));
    }
    const mounts = new Set(ds.spec.template.spec.containers[0].volumeMounts.map((m: Obj) => m.name));
    const volumes = new Set(ds.spec.template.spec.volumes.map((v: Obj) => v.name));
    for (const m of mounts) assert.ok(volumes.has(m), `${name}: volume ${m} is declared`);
    const cms = byKind(docs, 'ConfigMap').map((d) => d.metadata.name);
    for (const v of ds.spec.template.spec.volumes) if (v.configMap) assert.ok(cms.includes(v.configMap.name), `${name}: ConfigMap ${v.configMap.name} is rendered`);
  }
});

test('the agent runs unprivileged: non-root, read-only root, no capabilities, limits, docker group only with Docker', async () => {
  const docs = await render(VARIANTS.everything!);
  const pod = byKind(docs, 'DaemonSet')[0]!.spec.template.spec;
  const agent = pod.containers.find((c: Obj) => c.name === 'agent');
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(pod.securityContext.runAsUser > 0);
  assert.deepEqual(pod.securityContext.supplementalGroups, [998]);
  assert.equal(agent.securityContext.readOnlyRootFilesystem, true);
  assert.equal(agent.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(agent.securityContext.capabilities.drop, ['ALL']);
  assert.ok(agent.resources.limits.memory);
  assert.equal(agent.volumeMounts.find((m: Obj) => m.name === 'host-root').readOnly, true);
  assert.equal(agent.volumeMounts.find((m: Obj) => m.name === 'manifests').readOnly, true);
  assert.ok(agent.args.includes('--metrics-auth'));
  assert.ok(agent.args.includes('--host-label=role=web'));
  assert.equal(pod.automountServiceAccountToken, false);

  const noDocker = byKind(await render(VARIANTS.gitSync!), 'DaemonSet')[0]!.spec.template.spec;
  assert.equal(noDocker.securityContext.supplementalGroups, undefined, 'no docker group without Docker');
  assert.ok(noDocker.containers.some((c: Obj) => c.name === 'git-sync'));
  assert.ok(!noDocker.volumes.some((v: Obj) => v.name === 'docker-socket'));
});

test('the dashboard ships as a ConfigMap for Grafana\'s sidecar, byte for byte', async () => {
  const docs = await render({});
  const cm = byKind(docs, 'ConfigMap').find((d) => d.metadata.labels?.grafana_dashboard === '1');
  assert.ok(cm, 'a ConfigMap labelled grafana_dashboard: "1"');
  const c = await chart();
  assert.deepEqual(JSON.parse(cm.data['systemmanager.json']), JSON.parse(c.dashboard));
  const manifests = byKind(docs, 'ConfigMap').find((d) => d.metadata.name.endsWith('-manifests'));
  assert.equal(manifests!.data['output.yaml'], c.values.manifests.inline['output.yaml']);
});

test('the PrometheusRule carries the four alerts and passes promtool check rules', async (t) => {
  const docs = await render(VARIANTS.everything!);
  const rule = byKind(docs, 'PrometheusRule')[0]!;
  const alerts = rule.spec.groups[0].rules.map((r: Obj) => r.alert);
  assert.deepEqual(alerts, ['SystemmanagerResourceNotReady', 'SystemmanagerReconcileErrorsRising', 'SystemmanagerTokenExpiringSoon', 'SystemmanagerProbeFailing']);
  assert.equal(rule.spec.groups[0].rules[0].for, '10m');
  assert.match(rule.spec.groups[0].rules[2].expr, /< 7 \* 86400/);
  assert.match(rule.spec.groups[0].rules[0].annotations.summary, /\{\{ \$labels\.kind \}\}/, 'Prometheus templates survive Helm rendering');
  if (!(await requirePart(t, 'promtool', () => commandAvailable('promtool'), "install Debian's prometheus package (scripts/install-deps.sh)"))) return;
  const dir = await mkdtemp(join(tmpdir(), 'sm-rules-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'rules.yaml'), JSON.stringify({ groups: rule.spec.groups }));
  const { stdout } = await run('promtool', ['check', 'rules', join(dir, 'rules.yaml')]);
  assert.match(stdout, /SUCCESS: 4 rules found/);
});

test('the renderer refuses template syntax it does not understand', () => {
  const r = new Renderer({ Values: {}, Release: { Name: 'x', Namespace: 'y' }, Chart: { Name: 'c', Version: '1', AppVersion: '1' }, Files: {} }, []);
  assert.throws(() => r.render('{{ range .Values.x }}{{ end }}'), /unsupported/);
  assert.throws(() => r.render('{{ .Values.x | upper }}'), /unsupported pipeline function upper/);
  assert.throws(() => r.render('{{ if .Values.x }}'), /missing/);
  assert.equal(r.render('a\n  {{- if not .Values.x }}\nb{{ "q" | quote }}\n{{- end }}'), 'a\nb"q"');
});
