// The approvals page against a real Agent (store, controllers, token index, proposal service, REST
// API) in a real browser (Debian's chromium through playwright-core): sign in, review a proposal's
// diff, decide it as a second identity, watch the target's conditions; the two-person rule as the
// page shows it; manifest values that look like HTML render as text; and the headers the page is
// served with, checked over plain HTTP.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { mintToken } from '../../controllers/token/index.ts';
import { Agent } from '../../mcp/agent.ts';
import { CONTENT_SECURITY_POLICY } from '../../mcp/ui/index.ts';
import { stringifyManifest } from '../../resources/yaml-codec.ts';
import { CHROMIUM_HINT, chromiumAvailable, openBrowser, saveScreenshot } from '../support/browser.ts';
import { requirePart } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

type Role = 'proposer' | 'approver' | 'reader';

interface Started {
  agent: Agent;
  tokens: Record<Role, { token: string; id: string }>;
}

async function startAgent(t: TestContext, seed: Record<string, unknown>[] = []): Promise<Started> {
  const manifests = await mkdtemp(join(tmpdir(), 'sm-ui-manifests-'));
  const state = await mkdtemp(join(tmpdir(), 'sm-ui-state-'));
  // One hook, in this order: t.after hooks run first-registered first, and the agent writes its state until it stops.
  let agent: Agent | undefined;
  t.after(async () => {
    await agent?.stop();
    await rm(manifests, { recursive: true, force: true, maxRetries: 3 });
    await rm(state, { recursive: true, force: true, maxRetries: 3 });
  });
  if (seed.length) await writeFile(join(manifests, 'seed.yaml'), stringifyManifest(seed as never[]));
  // The proposer may approve too: only the two-person rule keeps them from deciding their own.
  const specs: Record<Role, string[]> = { proposer: ['system:admin', 'container:admin', 'proposals:approve'], approver: ['proposals:approve', 'readonly'], reader: ['readonly'] };
  const tokens = {} as Started['tokens'];
  for (const [role, scopes] of Object.entries(specs)) {
    const m = mintToken({ agent: role, scopes });
    await writeFile(join(manifests, `token-${role}.yaml`), stringifyManifest([m.resource]));
    tokens[role as Role] = { token: m.token, id: m.id };
  }
  agent = await Agent.start({
    manifestsDir: manifests,
    stateDir: state,
    listen: { host: '127.0.0.1', port: 0 },
    hostName: 'ui-test',
    hostIntervalMs: 60_000,
    dockerSocket: join(state, 'no-docker.sock'), // no container here reaches a real engine
  });
  return { agent, tokens };
}

async function propose(agent: Agent, token: string, objects: Record<string, unknown>[], reason: string): Promise<string> {
  const res = await fetch(`${agent.url}/api/v1alpha1/proposals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ changes: objects.map((object) => ({ operation: 'apply', object })), reason }),
  });
  const body = (await res.json()) as { metadata?: { name: string }; message?: string };
  assert.equal(res.status, 201, body.message);
  return body.metadata!.name;
}

const COMPACT = {
  apiVersion: 'systemmanager.io/v1alpha1',
  kind: 'OutputPreference',
  metadata: { name: 'compact', labels: { team: 'ops' } },
  spec: { format: 'toon' },
};

// No Docker engine is reachable from these agents, so reconciling this one fails with a Warning event.
const WEB = {
  apiVersion: 'systemmanager.io/v1alpha1',
  kind: 'Container',
  metadata: { name: 'web' },
  spec: { image: 'systemmanager-test/busybox:1', state: 'stopped', network: 'none' },
};

const VERBOSE = {
  apiVersion: 'systemmanager.io/v1alpha1',
  kind: 'OutputPreference',
  metadata: { name: 'verbose' },
  spec: { format: 'json', selector: { agents: ['debugger'] } },
};

async function signIn(page: Page, agent: Agent, token: string): Promise<void> {
  await page.goto(`${agent.url}/ui/`);
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#whoami').waitFor();
}

async function openProposal(page: Page, id: string): Promise<void> {
  await page.locator(`#proposals a:text-is("${id}")`).click();
  await page.locator('h1', { hasText: id }).waitFor();
}

test('the page and its files are served with the strict security headers, and nothing inline', async (t) => {
  const { agent } = await startAgent(t);
  for (const path of ['/ui/', '/ui/app.js', '/ui/styles.css', '/ui/config.json', '/ui/no-such-file']) {
    const res = await fetch(`${agent.url}${path}`);
    assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    assert.equal(res.headers.get('set-cookie'), null, `${path} sets no cookie`);
  }
  assert.equal(
    CONTENT_SECURITY_POLICY,
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );

  const html = await (await fetch(`${agent.url}/ui/`)).text();
  assert.match(html, /<script type="module" src="app\.js"><\/script>/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');

  const js = await fetch(`${agent.url}/ui/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  const script = await js.text();
  assert.doesNotMatch(script, /\.innerHTML\s*=|insertAdjacentHTML|document\.write/, 'the page never parses data as HTML');
  const etag = js.headers.get('etag');
  assert.ok(etag);
  assert.equal((await fetch(`${agent.url}/ui/app.js`, { headers: { 'if-none-match': etag } })).status, 304);

  const missing = await fetch(`${agent.url}/ui/no-such-file`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { code: string }).code, 'NOT_FOUND');
  const posted = await fetch(`${agent.url}/ui/`, { method: 'POST' });
  assert.equal(posted.status, 405);
  const bare = await fetch(`${agent.url}/ui`, { redirect: 'manual' });
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get('location'), '/ui/');

  // DNS rebinding: a page served under another name must not be able to drive this one.
  const port = new URL(agent.url).port;
  const foreign = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/ui/', headers: { host: `evil.example:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(foreign.status, 403);
  assert.match(foreign.body, /FORBIDDEN_HOST/);
});

test('an operator signs in, reviews a pending proposal, approves it as a second identity and sees it Applied with live conditions', async (t) => {
  if (!(await requirePart(t, 'chromium', chromiumAvailable, CHROMIUM_HINT))) return;
  const { agent, tokens } = await startAgent(t, [{ ...COMPACT, spec: { format: 'json' } }, WEB]);
  const id = await propose(agent, tokens.proposer.token, [COMPACT, VERBOSE], 'answer agents in TOON to save tokens');
  const { page, context, problems, blocked } = await openBrowser(t);

  await signIn(page, agent, tokens.approver.token);
  assert.match(await page.locator('#whoami').innerText(), new RegExp(`approver, token ${tokens.approver.id}`));
  assert.equal(page.url(), `${agent.url}/ui/`, 'the token never appears in the URL');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('systemmanager.token')), tokens.approver.token);
  assert.deepEqual(await context.cookies(), [], 'no cookie carries the token');

  const row = page.locator(`tr[data-proposal="${id}"]`);
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[1], 'Pending');
  assert.match(cells[2]!, /^(low|moderate|high|critical)$/);
  assert.match(cells[3]!, new RegExp(`^proposer, token ${tokens.proposer.id}$`));
  assert.equal(cells[4], 'update OutputPreference/compact\ncreate OutputPreference/verbose');
  assert.equal(cells[5], 'answer agents in TOON to save tokens');
  assert.match(cells[6]!, /ago$/);
  assert.match(cells[7]!, /^in \d/);

  await openProposal(page, id);
  assert.equal(await page.locator('#reason').innerText(), 'answer agents in TOON to save tokens');
  assert.deepEqual(await page.locator('.diff-file h3').allInnerTexts(), ['seed.yaml', 'outputpreferences/verbose.yaml'], 'one diff per resource, named by the file it changes');
  const compact = page.locator('.diff-file').first();
  assert.deepEqual(await compact.locator('.line.del').allInnerTexts(), ['-  format: json']);
  assert.deepEqual(await compact.locator('.line.add').allInnerTexts(), ['+  format: toon']);
  // No named functions inside: tsx would wrap them in a helper the page does not have.
  const colors = await compact.evaluate((el) => Object.fromEntries(['add', 'del', 'ctx'].map((k) => [k, getComputedStyle(el.querySelector(`.line.${k}`)!).backgroundColor])));
  assert.equal(new Set([colors.add, colors.del, colors.ctx]).size, 3, `added, removed and context lines look different: ${JSON.stringify(colors)}`);
  assert.equal(await page.locator('#approve').isEnabled(), true);
  assert.equal(await page.locator('#decision-why').count(), 0);
  const screenshot = await saveScreenshot(page, 'ui-proposal-pending');
  assert.ok((await stat(screenshot)).size > 10_000, `${screenshot} holds a rendered page`);

  await page.locator('#comment').fill('looks right');
  await page.locator('#approve').click();
  await page.locator('#flash', { hasText: 'Approved: the proposal is now Applied.' }).waitFor();
  assert.equal(await page.locator('#phase-text').innerText(), 'Applied');
  assert.match(await page.locator('#approvals').innerText(), /approver.*looks right/s);
  assert.equal(await page.locator('#approve').count(), 0, 'a decided proposal offers no buttons');
  for (const name of ['compact', 'verbose']) {
    const ready = page.locator(`[data-target="OutputPreference/${name}"] tr[data-condition="Ready"]`, { hasText: 'True' });
    await ready.waitFor({ timeout: 15_000 });
    assert.match(await ready.innerText(), /^Ready\s+True\s+Active/);
  }
  await saveScreenshot(page, 'ui-proposal-applied');

  await page.locator('a', { hasText: 'Resources' }).first().click();
  const resource = page.locator('tr[data-resource="OutputPreference/compact"]');
  await resource.waitFor();
  assert.match(await resource.innerText(), /compact\s+True/);
  assert.match(await page.locator('#kind-accesstokens').innerText(), /needs the system:admin scope/);
  await resource.locator('a').click();
  await page.locator('h1', { hasText: 'OutputPreference compact' }).waitFor();
  assert.match(await page.locator('table.conditions').innerText(), /Ready\s+True/);
  assert.match(await page.locator('dl.facts').innerText(), /team=ops/);
  assert.match(await page.locator('pre.spec').innerText(), /"format": "toon"/);
  await page.locator('a', { hasText: '← Resources' }).click();
  await resource.waitFor();
  await saveScreenshot(page, 'ui-resources');
  await waitFor(() => agent.manager.recorder.list('Container/web').length > 0, { timeoutMs: 15_000, message: 'a Warning event for Container/web' });
  await page.locator('tr[data-resource="Container/web"] a').click();
  await page.locator('h1', { hasText: 'Container web' }).waitFor();
  const event = page.locator('#events tr.warning').first();
  assert.match(await event.innerText(), /^Warning\s+\w+\s+.*Docker/i);
  await saveScreenshot(page, 'ui-resource');

  await page.reload();
  await page.locator('#whoami').waitFor();
  await page.locator('#signout').click();
  await page.locator('#signin').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('systemmanager.token')), null, 'signing out forgets the token');
  assert.deepEqual(problems, []);
  assert.deepEqual(blocked, []);
});

test('the approve and reject buttons are disabled for the proposer and for a token without proposals:approve, and say why', async (t) => {
  if (!(await requirePart(t, 'chromium', chromiumAvailable, CHROMIUM_HINT))) return;
  const { agent, tokens } = await startAgent(t);
  const id = await propose(agent, tokens.proposer.token, [COMPACT], 'answer agents in TOON');
  const { page, problems } = await openBrowser(t);

  await signIn(page, agent, tokens.proposer.token);
  await openProposal(page, id);
  assert.equal(await page.locator('#approve').isDisabled(), true);
  assert.equal(await page.locator('#reject').isDisabled(), true);
  assert.equal(
    await page.locator('#decision-why').innerText(),
    `You cannot decide your own proposal: your token (${tokens.proposer.id}) is the one that proposed it. Another person must approve or reject it (two-person rule).`,
  );

  await page.locator('#signout').click();
  await signIn(page, agent, tokens.reader.token);
  await openProposal(page, id);
  assert.equal(await page.locator('#approve').isDisabled(), true);
  assert.match(await page.locator('#decision-why').innerText(), /does not have the proposals:approve scope/);
  assert.equal(agent.store.get('Proposal', id)?.status?.phase, 'Pending');
  assert.deepEqual(problems, []);
});

test('rejecting with a comment shows the Rejected phase, who rejected it and why', async (t) => {
  if (!(await requirePart(t, 'chromium', chromiumAvailable, CHROMIUM_HINT))) return;
  const { agent, tokens } = await startAgent(t);
  const id = await propose(agent, tokens.proposer.token, [COMPACT], 'answer agents in TOON');
  const { page, problems } = await openBrowser(t);

  await signIn(page, agent, tokens.approver.token);
  await openProposal(page, id);
  await page.locator('#comment').fill('JSON is easier to debug this week');
  await page.locator('#reject').click();
  await page.locator('#flash', { hasText: 'Rejected: the proposal is now Rejected.' }).waitFor();
  assert.equal(await page.locator('#message').innerText(), 'JSON is easier to debug this week');
  assert.match(await page.locator('dl.facts').innerText(), /Rejected by\s+approver/);
  assert.equal(agent.store.get('OutputPreference', 'compact'), undefined, 'nothing was applied');

  await page.locator('a', { hasText: '← Proposals' }).click();
  await page.locator('#no-proposals', { hasText: 'No pending proposals.' }).waitFor();
  await page.locator('#phase').selectOption('Rejected');
  await page.locator(`tr[data-proposal="${id}"]`).waitFor();
  assert.match(page.url(), /#\/proposals\?phase=Rejected$/);
  assert.deepEqual(problems, []);
});

test('HTML in a manifest value or a reason renders as text and never runs', async (t) => {
  if (!(await requirePart(t, 'chromium', chromiumAvailable, CHROMIUM_HINT))) return;
  const { agent, tokens } = await startAgent(t);
  const payload = '<img src=x onerror=window.__pwned=1>';
  const object = {
    apiVersion: 'systemmanager.io/v1alpha1',
    kind: 'Container',
    metadata: { name: 'web', annotations: { 'systemmanager.io/note': payload } },
    spec: { image: 'systemmanager-test/busybox:1', state: 'stopped', network: 'none' },
  };
  const reason = '<script>window.__pwned=2</script> and <b>bold</b>';
  const id = await propose(agent, tokens.proposer.token, [object], reason);
  const { page, problems } = await openBrowser(t);

  await signIn(page, agent, tokens.approver.token);
  await openProposal(page, id);
  const line = page.locator('#diff .line.add', { hasText: 'onerror' });
  assert.equal(await line.count(), 1);
  assert.match(await line.innerText(), /systemmanager\.io\/note: .*<img src=x onerror=window\.__pwned=1>/);
  assert.equal(await page.locator('#reason').innerText(), reason);
  assert.equal(await page.locator('main img, main script, main b').count(), 0, 'no element was made from the data');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined, 'the handler did not run');
  await saveScreenshot(page, 'ui-proposal-escaped');
  // A CSP report would mean the markup was parsed and only the policy stopped it.
  assert.deepEqual(problems, []);

  // The address bar is input too: an id made of markup comes back in the server's 404 message.
  await page.goto(`${agent.url}/ui/#/proposals/${encodeURIComponent('<img src=x onerror=window.__pwned=3>')}`);
  const refused = page.locator('main [role=alert]');
  await refused.waitFor();
  assert.match(await refused.innerText(), /NOT_FOUND: .*<img src=x onerror=window\.__pwned=3>/);
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined);
});

test('a token the server refuses brings the operator back to sign in, and forgets it', async (t) => {
  if (!(await requirePart(t, 'chromium', chromiumAvailable, CHROMIUM_HINT))) return;
  const { agent } = await startAgent(t);
  const { page } = await openBrowser(t);
  await page.goto(`${agent.url}/ui/`);
  await page.locator('#token').fill('smt_notarealtoken_0000000000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signin .notice', { hasText: 'the bearer token is invalid, expired or revoked' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('systemmanager.token')), null);
  assert.equal(await page.locator('#token').inputValue(), '', 'the refused token is not left in the form');
});
