// Metrics against real parts (issue 8): a running Agent managing a real Docker container, scraped by
// a real Prometheus on loopback (the main listener and the dedicated --metrics-listen one, both with
// --metrics-auth and a metrics:read token), its output linted by promtool, and the Grafana dashboard
// checked against the names a real scrape contains.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mintToken } from '../../controllers/token/index.ts';
import { Agent, type AgentOptions } from '../../mcp/agent.ts';
import type { DesiredResource } from '../../resources/types.ts';
import { tempDir } from '../support/manifests.ts';
import { commandAvailable, DOCKER_HINT, dockerAvailable, dockerRequest, requirePart, TEST_IMAGE } from '../support/parts.ts';
import { PROMETHEUS_HINT, promtoolCheckMetrics, startPrometheus } from '../support/prometheus.ts';
import { waitFor } from '../support/wait.ts';

const DASHBOARD = new URL('../../charts/systemmanager/dashboards/systemmanager.json', import.meta.url);

async function startAgent(t: TestContext, manifests: string, extra: Partial<AgentOptions> = {}): Promise<Agent> {
  const state = await tempDir(t, 'sm-prom-state-');
  const agent = await Agent.start({ manifestsDir: manifests, stateDir: state, listen: { host: '127.0.0.1', port: 0 }, hostName: 'prom-it', hostIntervalMs: 1000, metricsSampleIntervalMs: 500, ...extra });
  t.after(() => agent.stop());
  return agent;
}

function mint(agent: Agent, name: string, scopes: string[], ttlMs?: number): string {
  const m = mintToken({ agent: name, scopes, ...(ttlMs !== undefined ? { ttlMs } : {}) });
  agent.store.upsert(m.resource as DesiredResource);
  return m.token;
}

async function scrape(url: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text() };
}

/** metricNamesIn extracts the metric names a PromQL expression uses (identifiers followed by `{`, `[` or an operator, not functions or keywords). */
export function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const names = new Set<string>();
  for (const m of withoutStrings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const word = m[1]!;
    if (/^(by|without|on|ignoring|group_left|group_right|bool|and|or|unless|offset|le|inf|nan)$/i.test(word)) continue;
    if (/^\d/.test(word) || !word.includes('_')) continue;
    names.add(word);
  }
  return [...names];
}

test('Prometheus scrapes a running agent: container Ready, tool calls, auth on both listeners, promtool clean, dashboard names exist', async (t) => {
  if (!(await requirePart(t, 'Docker engine', () => dockerAvailable(), DOCKER_HINT))) return;
  if (!(await requirePart(t, 'Prometheus (prometheus, promtool)', () => commandAvailable('promtool') && commandAvailable('/usr/bin/prometheus'), PROMETHEUS_HINT))) return;
  const manifests = await tempDir(t, 'sm-prom-manifests-');
  const name = `prom-${randomBytes(3).toString('hex')}`;
  t.after(() => dockerRequest(`/containers/${name}?force=1`, undefined, 'DELETE').catch(() => {}));
  await writeFile(
    join(manifests, 'web.yaml'),
    `apiVersion: systemmanager.io/v1alpha1
kind: Container
metadata:
  name: ${name}
spec:
  image: ${TEST_IMAGE}
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]
  network: none
  stopTimeout: 1s
`,
  );
  await writeFile(
    join(manifests, 'probe.yaml'),
    'apiVersion: systemmanager.io/v1alpha1\nkind: HealthProbe\nmetadata:\n  name: always-ok\nspec:\n  exec:\n    command: ["/bin/true"]\n  interval: 1s\n',
  );
  const agent = await startAgent(t, manifests, { metricsAuth: true, metricsListen: { host: '127.0.0.1', port: 0 } });
  const scraper = mint(agent, 'prometheus', ['metrics:read'], 30 * 86_400_000);
  const caller = mint(agent, 'agent-a', ['system:read']);

  await waitFor(() => agent.store.get('Container', name)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), { timeoutMs: 60_000, message: 'the Container to be Ready' });

  // The probe controller is not yet wired into the Agent everywhere this test runs; when it has not
  // reported, write the status it would write, so the probe metrics are still checked end to end.
  if (agent.store.get('HealthProbe', 'always-ok')?.status?.success === undefined) {
    agent.store.updateStatus('HealthProbe', 'always-ok', { success: true, latencySeconds: 0.002, consecutiveFailures: 0, consecutiveSuccesses: 1, lastProbeTime: new Date().toISOString() });
  }

  // --metrics-auth: no token is 401, a token without metrics:read is 403, on both listeners.
  for (const url of [agent.url, agent.metricsUrl!]) {
    assert.equal((await scrape(url)).status, 401, url);
    assert.equal((await scrape(url, caller)).status, 403, url);
    assert.equal((await scrape(url, scraper)).status, 200, url);
  }

  // A real MCP call moves the tool-call counter.
  const client = new Client({ name: 'prom-it', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${agent.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${caller}` } } }));
  t.after(() => client.close());
  const result = await client.callTool({ name: 'get_system_status', arguments: {} });
  assert.notEqual(result.isError, true);

  const prom = await startPrometheus([
    { job: 'main', target: new URL(agent.url).host, bearer: scraper },
    { job: 'dedicated', target: new URL(agent.metricsUrl!).host, bearer: scraper },
  ]);
  t.after(() => prom.stop());

  const one = async (expr: string) => {
    const r = await prom.query(expr);
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  };
  await waitFor(async () => (await one('up{job="main"}')) === 1 && (await one('up{job="dedicated"}')) === 1, { timeoutMs: 30_000, intervalMs: 250, message: 'both targets up' });
  await waitFor(async () => (await one(`systemmanager_resource_condition{job="main",kind="Container",name="${name}",type="Ready",status="True"}`)) === 1, { timeoutMs: 30_000, intervalMs: 250, message: 'the Ready condition in Prometheus' });
  await waitFor(async () => ((await one('systemmanager_mcp_tool_calls_total{job="main",tool="get_system_status",outcome="ok"}')) ?? 0) >= 1, { timeoutMs: 30_000, intervalMs: 250, message: 'the tool-call counter in Prometheus' });
  await waitFor(async () => (await one(`systemmanager_container_state{job="dedicated",name="${name}",state="running"}`)) === 1, { timeoutMs: 30_000, intervalMs: 250, message: 'the container state on the dedicated listener' });
  await waitFor(async () => ((await one(`systemmanager_container_memory_usage_bytes{job="main",name="${name}"}`)) ?? 0) > 0, { timeoutMs: 30_000, intervalMs: 250, message: 'container memory from the Docker stats sampler' });

  // promtool lints the very output Prometheus scrapes.
  const text = (await scrape(agent.url, scraper)).text;
  const lint = await promtoolCheckMetrics(text);
  assert.equal(lint.code, 0, lint.output);

  // Every metric a dashboard panel uses exists in this scrape (or is a histogram's derived series).
  const present = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]));
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
  const used = new Set<string>();
  for (const p of dashboard.panels) for (const target of p.targets ?? []) for (const n of metricNamesIn(target.expr)) used.add(n);
  assert.ok(used.size >= 15, `the dashboard uses ${used.size} metrics`);
  const missing = [...used].filter((n) => !present.has(n));
  assert.deepEqual(missing, [], `dashboard metrics missing from a real scrape: ${missing.join(', ')}`);

  // The container disappears from the output with its resource.
  await writeFile(join(manifests, 'web.yaml'), '');
  await writeFile(join(manifests, 'keep.yaml'), 'apiVersion: systemmanager.io/v1alpha1\nkind: OutputPreference\nmetadata:\n  name: keep\nspec:\n  format: json\n');
  await waitFor(async () => !(await scrape(agent.url, scraper)).text.includes(`name="${name}"`), { timeoutMs: 30_000, message: 'the deleted container to leave the scrape' });
});

test('without --metrics-auth /metrics is open on the loopback listener but still refuses a foreign Host header', async (t) => {
  const manifests = await tempDir(t, 'sm-prom-manifests-');
  const agent = await startAgent(t, manifests);
  const open = await scrape(agent.url);
  assert.equal(open.status, 200);
  assert.match(open.text, /^systemmanager_build_info\{version="[^"]+",nodejs_version="v\d+/m);
  assert.match(open.text, /^process_cpu_seconds_total /m);
  const { request } = await import('node:http');
  const url = new URL(agent.url);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/metrics', headers: { host: 'evil.example:80' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 403, 'DNS rebinding protection applies to /metrics too');
});
