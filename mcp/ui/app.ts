/// <reference lib="dom" />
// The approvals page in the browser: sign in with a token, review proposals as diffs, approve or
// reject them, and read resources with their conditions and events. It talks only to the REST API,
// with the token in the Authorization header (never a cookie, never the URL), kept in
// sessionStorage so it dies with the tab. Everything that comes from the server is put into the
// page as text nodes (`h()` below); nothing is ever parsed as HTML. This file runs in the browser:
// it imports nothing from the server's folders (the router bundles it with esbuild).

import { parseDiff } from './diff.ts';

const TOKEN_KEY = 'systemmanager.token';
const PHASES = ['Pending', 'Approved', 'Rejected', 'Applied', 'Failed', 'Expired', 'Stale'] as const;
const APPROVE_SCOPE = 'proposals:approve';
const LIVE_REFRESH_MS = 2000;
const LIVE_REFRESH_MAX = 30;

interface KindConfig {
  kind: string;
  plural: string;
  readScope?: string;
  writeScope?: string;
}

interface UiConfig {
  apiPrefix: string;
  kinds: KindConfig[];
}

interface Identity {
  agent?: string;
  tokenId?: string;
  tailscaleLogin?: string;
  tailscaleName?: string;
}

interface WhoAmI {
  identity: Identity;
  scopes: string[];
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; generation?: number };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

interface Change {
  operation: 'create' | 'update' | 'delete';
  kind: string;
  name: string;
}

interface Approval {
  by: Identity;
  at: string;
  comment?: string;
  selfApproved?: boolean;
}

interface RecordedEvent {
  type: string;
  reason: string;
  message: string;
  count: number;
  lastTimestamp: string;
}

interface Description {
  object: Resource;
  conditions: Condition[];
  events: RecordedEvent[];
  origin?: { file: string; line: number };
  manifestErrors: { code: string; message: string }[];
}

/** ApiError is a refused REST call, with the server's stable code. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let config: UiConfig | undefined;
let me: WhoAmI | undefined;
// Each render bumps this; async work started by an older render checks it and stops, so a slow
// answer never paints over the page the operator has since moved to.
let renderGeneration = 0;

const root = document.getElementById('app')!;

// ---- DOM building: text only -------------------------------------------------------------------

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | boolean | undefined | ((ev: Event) => void)>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(name.replace(/^on/, ''), value);
      continue;
    }
    // Links stay inside the page: no javascript:, no data:, no other origin.
    if (name === 'href' && !String(value).startsWith('#')) throw new Error(`refusing href ${String(value)}`);
    el.setAttribute(name, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

function show(...children: Child[]): void {
  root.replaceChildren();
  append(root, children);
}

// ---- API -------------------------------------------------------------------------------------------

function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function loadConfig(): Promise<UiConfig> {
  if (!config) {
    const res = await fetch('config.json', { cache: 'no-cache', credentials: 'omit' });
    if (!res.ok) throw new ApiError(res.status, 'INTERNAL', 'the page configuration cannot be loaded');
    config = (await res.json()) as UiConfig;
  }
  return config;
}

async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const cfg = await loadConfig();
  const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${token() ?? ''}` };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(cfg.apiPrefix + path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'error',
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const e = (body ?? {}) as { code?: unknown; message?: unknown };
    const err = new ApiError(res.status, typeof e.code === 'string' ? e.code : `HTTP_${res.status}`, typeof e.message === 'string' ? e.message : res.statusText);
    if (res.status === 401) signOut(`Signed out: ${err.message}`);
    throw err;
  }
  return body as T;
}

function kindConfig(kind: string): KindConfig | undefined {
  return config?.kinds.find((k) => k.kind === kind);
}

function hasScope(scope: string | undefined): boolean {
  return scope !== undefined && (me?.scopes.includes(scope) ?? false);
}

function canRead(k: KindConfig): boolean {
  return hasScope(k.readScope) || hasScope(k.writeScope);
}

// ---- identities, time ------------------------------------------------------------------------------

function describeIdentity(i: Identity | undefined): string {
  if (!i) return 'unknown';
  return [i.agent, i.tokenId ? `token ${i.tokenId}` : undefined, i.tailscaleLogin ? `tailscale ${i.tailscaleLogin}` : undefined].filter(Boolean).join(', ') || 'unknown';
}

/**
 * whySame says why two identities count as one person, mirroring the server's two-person rule
 * (resources/identity.ts sameIdentity); undefined when they are different people.
 */
function whySame(a: Identity, b: Identity | undefined): string | undefined {
  if (!b) return undefined;
  if (a.tailscaleLogin && b.tailscaleLogin) return a.tailscaleLogin === b.tailscaleLogin ? `you are signed in to Tailscale as ${a.tailscaleLogin}, who proposed it` : undefined;
  if (a.tokenId && b.tokenId && a.tokenId === b.tokenId) return `your token (${a.tokenId}) is the one that proposed it`;
  if (a.agent !== undefined && a.agent === b.agent) return `your token's agent name (${a.agent}) is the proposer's`;
  return undefined;
}

function ago(iso: string | undefined): string {
  if (!iso) return '—';
  const ms = Date.now() - Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${span(Math.abs(ms))}${ms < 0 ? ' from now' : ' ago'}`;
}

function until(iso: string | undefined): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - Date.now();
  if (Number.isNaN(ms)) return iso;
  return ms > 0 ? `in ${span(ms)}` : `expired ${span(-ms)} ago`;
}

function span(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

function time(iso: string | undefined, text: string): HTMLElement {
  return iso ? h('time', { datetime: iso, title: iso }, text) : h('span', {}, text);
}

// ---- routing -------------------------------------------------------------------------------------

interface Route {
  path: string[];
  query: URLSearchParams;
}

function route(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?', 2);
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

function link(path: string[], query?: Record<string, string>): string {
  const q = query ? new URLSearchParams(query).toString() : '';
  return `#/${path.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}

async function render(): Promise<void> {
  const generation = ++renderGeneration;
  if (!token()) {
    showSignIn();
    return;
  }
  try {
    await loadConfig();
    me ??= await api<WhoAmI>('/whoami');
  } catch (err) {
    if (!token()) return; // the 401 handler already showed the sign-in form
    show(header(), h('main', {}, errorBox(err)));
    return;
  }
  const r = route();
  const current = () => generation === renderGeneration;
  const [section, a, b] = r.path;
  try {
    if (section === 'proposals' && a) await showProposal(a, current);
    else if (section === 'resources' && a && b) await showResource(a, b, current);
    else if (section === 'resources') await showResources(current);
    else await showProposals(r.query.get('phase') ?? 'Pending', current);
  } catch (err) {
    if (current() && token()) show(header(), h('main', {}, errorBox(err)));
  }
}

function header(): HTMLElement {
  const r = route();
  const on = (name: string) => ((r.path[0] ?? 'proposals') === name ? 'page' : undefined);
  return h(
    'header',
    { class: 'top' },
    h('a', { href: '#/proposals', class: 'brand' }, 'systemmanager'),
    h('nav', {}, h('a', { href: '#/proposals', 'aria-current': on('proposals') }, 'Proposals'), h('a', { href: '#/resources', 'aria-current': on('resources') }, 'Resources')),
    h(
      'div',
      { class: 'who' },
      h('span', { id: 'whoami', title: (me?.scopes ?? []).join(' ') }, 'Signed in as ', h('strong', {}, describeIdentity(me?.identity))),
      h('button', { type: 'button', id: 'signout', class: 'secondary', onclick: () => signOut('Signed out.') }, 'Sign out'),
    ),
  );
}

function errorBox(err: unknown): HTMLElement {
  const e = err instanceof ApiError ? err : undefined;
  return h('div', { class: 'error', role: 'alert' }, e ? h('strong', {}, `${e.code}: `) : null, e ? e.message : String((err as Error)?.message ?? err));
}

// ---- sign in -------------------------------------------------------------------------------------

function showSignIn(message?: string): void {
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'smt_…' });
  const form = h(
    'form',
    { id: 'signin', class: 'card signin' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Paste an access token. It is kept in this tab only (session storage) and sent in the Authorization header.'),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    message ? h('p', { class: 'notice', role: 'status' }, message) : null,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault(); // form-action 'none': the form never navigates; the token never reaches a URL
    const value = input.value.trim();
    input.value = '';
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    me = undefined;
    void render();
  });
  show(h('main', { class: 'narrow' }, form));
  input.focus();
}

function signOut(message: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  me = undefined;
  renderGeneration++;
  showSignIn(message);
}

// ---- proposals list ----------------------------------------------------------------------------------

async function showProposals(phase: string, current: () => boolean): Promise<void> {
  const query = phase === 'All' ? '' : `?phase=${encodeURIComponent(phase)}`;
  const list = await api<{ items: Resource[] }>(`/proposals${query}`);
  if (!current()) return;
  const select = h('select', { id: 'phase', 'aria-label': 'Phase' }, ['All', ...PHASES].map((p) => h('option', { value: p, selected: p === phase }, p)));
  select.addEventListener('change', () => {
    location.hash = link(['proposals'], { phase: select.value });
  });
  const items = [...list.items].sort((x, y) => String(y.metadata.creationTimestamp ?? '').localeCompare(String(x.metadata.creationTimestamp ?? '')));
  show(
    header(),
    h(
      'main',
      {},
      h('div', { class: 'toolbar' }, h('h1', {}, 'Proposals'), h('label', { class: 'filter' }, 'Phase ', select)),
      items.length === 0
        ? h('p', { class: 'empty', id: 'no-proposals' }, phase === 'All' ? 'No proposals.' : `No ${phase.toLowerCase()} proposals.`)
        : h(
            'table',
            { id: 'proposals' },
            h('thead', {}, h('tr', {}, ['ID', 'Phase', 'Risk', 'Proposed by', 'Changes', 'Reason', 'Age', 'Expires'].map((c) => h('th', {}, c)))),
            h('tbody', {}, items.map(proposalRow)),
          ),
    ),
  );
}

function proposalRow(p: Resource): HTMLElement {
  const spec = p.spec ?? {};
  const status = p.status ?? {};
  const changes = (spec.changes as Change[] | undefined) ?? [];
  const phase = String(status.phase ?? 'Pending');
  return h(
    'tr',
    { 'data-proposal': p.metadata.name },
    h('td', {}, h('a', { href: link(['proposals', p.metadata.name]) }, p.metadata.name)),
    h('td', {}, badge(phase)),
    h('td', {}, riskBadge(spec.risk as string | undefined)),
    h('td', {}, describeIdentity(spec.proposedBy as Identity | undefined)),
    h('td', {}, changes.map((c) => h('div', {}, `${c.operation} ${c.kind}/${c.name}`))),
    h('td', { class: 'reason-cell' }, String(spec.reason ?? '')),
    h('td', {}, time(p.metadata.creationTimestamp, ago(p.metadata.creationTimestamp))),
    h('td', {}, phase === 'Pending' ? time(spec.expiresAt as string | undefined, until(spec.expiresAt as string | undefined)) : '—'),
  );
}

function badge(phase: string): HTMLElement {
  return h('span', { class: `badge phase-${phase.toLowerCase().replace(/[^a-z]/g, '')}` }, phase);
}

function riskBadge(risk: string | undefined): HTMLElement {
  return h('span', { class: `badge risk-${(risk ?? 'unknown').replace(/[^a-z]/g, '')}` }, risk ?? 'unknown');
}

// ---- one proposal ------------------------------------------------------------------------------------

async function showProposal(id: string, current: () => boolean, flash?: string): Promise<void> {
  const p = await api<Resource>(`/proposals/${encodeURIComponent(id)}`);
  if (!current()) return;
  const spec = p.spec ?? {};
  const status = p.status ?? {};
  const phase = String(status.phase ?? 'Pending');
  const changes = (spec.changes as Change[] | undefined) ?? [];
  const approvals = (status.approvals as Approval[] | undefined) ?? [];
  const live = h('section', { id: 'live' });
  show(
    header(),
    h(
      'main',
      {},
      h('p', {}, h('a', { href: '#/proposals' }, '← Proposals')),
      h('div', { class: 'toolbar' }, h('h1', {}, 'Proposal ', h('code', {}, p.metadata.name)), h('span', { id: 'phase-badge' }, badge(phase))),
      flash ? h('p', { class: 'notice', role: 'status', id: 'flash' }, flash) : null,
      h(
        'dl',
        { class: 'facts' },
        fact('Phase', h('span', { id: 'phase-text' }, phase)),
        fact('Risk', riskBadge(spec.risk as string | undefined)),
        fact('Proposed by', h('span', { id: 'proposer' }, describeIdentity(spec.proposedBy as Identity | undefined))),
        fact('Created', time(p.metadata.creationTimestamp, ago(p.metadata.creationTimestamp))),
        phase === 'Pending' ? fact('Expires', time(spec.expiresAt as string | undefined, until(spec.expiresAt as string | undefined))) : null,
        status.appliedAt ? fact('Applied', time(String(status.appliedAt), ago(String(status.appliedAt)))) : null,
        status.commit ? fact('Commit', h('code', {}, String(status.commit))) : null,
        status.rejectedBy ? fact('Rejected by', describeIdentity(status.rejectedBy as Identity)) : null,
        status.message ? fact('Message', h('span', { id: 'message' }, String(status.message))) : null,
      ),
      h('h2', {}, 'Reason'),
      h('p', { class: 'reason', id: 'reason' }, String(spec.reason ?? '')),
      h('h2', {}, 'Changes'),
      h('ul', { id: 'changes' }, changes.map((c) => h('li', {}, h('span', { class: `op op-${c.operation}` }, c.operation), ' ', targetLink(c)))),
      h('h2', {}, 'Diff'),
      diffView(String(status.diff ?? '')),
      h('h2', {}, 'Approvals'),
      approvals.length === 0
        ? h('p', { class: 'empty' }, 'No approvals yet.')
        : h(
            'table',
            { id: 'approvals' },
            h('thead', {}, h('tr', {}, ['By', 'When', 'Comment'].map((c) => h('th', {}, c)))),
            h(
              'tbody',
              {},
              approvals.map((a) => h('tr', {}, h('td', {}, describeIdentity(a.by), a.selfApproved ? h('span', { class: 'badge risk-high' }, 'self-approved') : null), h('td', {}, time(a.at, ago(a.at))), h('td', {}, a.comment ?? ''))),
            ),
          ),
      decisionPanel(p, phase, current),
      live,
    ),
  );
  if (phase === 'Applied') void refreshLive(live, changes, current, 0);
}

function fact(name: string, value: Child): Child[] {
  return [h('dt', {}, name), h('dd', {}, value)];
}

function targetLink(c: Change): Child {
  const k = kindConfig(c.kind);
  const text = `${c.kind}/${c.name}`;
  return k && c.operation !== 'delete' ? h('a', { href: link(['resources', k.plural, c.name]) }, text) : text;
}

function decisionPanel(p: Resource, phase: string, current: () => boolean): HTMLElement {
  if (phase !== 'Pending') {
    return h('section', { class: 'card decision', id: 'decision' }, h('h2', {}, 'Decision'), h('p', { id: 'decision-why' }, `This proposal is ${phase}; it can no longer be approved or rejected.`));
  }
  const proposer = (p.spec?.proposedBy as Identity | undefined) ?? undefined;
  let why: string | undefined;
  if (!hasScope(APPROVE_SCOPE)) why = `Your token does not have the ${APPROVE_SCOPE} scope, so you can review but not decide.`;
  else {
    const same = me ? whySame(me.identity, proposer) : undefined;
    if (same) why = `You cannot decide your own proposal: ${same}. Another person must approve or reject it (two-person rule).`;
    else if (Date.parse(String(p.spec?.expiresAt ?? '')) <= Date.now()) why = `This proposal expired ${ago(String(p.spec?.expiresAt))} without a decision; propose the change again.`;
  }
  const comment = h('textarea', { id: 'comment', rows: '3', maxlength: '4096', placeholder: 'Comment (recorded with your decision)', disabled: why !== undefined });
  const result = h('div', { id: 'decision-result' });
  const decide = async (decision: 'approve' | 'reject'): Promise<void> => {
    approve.disabled = true;
    reject.disabled = true;
    result.replaceChildren(h('p', { class: 'notice' }, decision === 'approve' ? 'Approving…' : 'Rejecting…'));
    try {
      const text = comment.value.trim();
      const out = await api<Resource>(`/proposals/${encodeURIComponent(p.metadata.name)}/${decision}`, { method: 'POST', body: text ? { comment: text } : {} });
      if (!current()) return;
      const next = String(out.status?.phase ?? '');
      await showProposal(p.metadata.name, current, `${decision === 'approve' ? 'Approved' : 'Rejected'}: the proposal is now ${next}.`);
    } catch (err) {
      if (!current()) return;
      result.replaceChildren(errorBox(err));
      approve.disabled = false;
      reject.disabled = false;
    }
  };
  const approve = h('button', { type: 'button', id: 'approve', disabled: why !== undefined, 'aria-describedby': why ? 'decision-why' : undefined, onclick: () => void decide('approve') }, 'Approve');
  const reject = h('button', { type: 'button', id: 'reject', class: 'danger', disabled: why !== undefined, 'aria-describedby': why ? 'decision-why' : undefined, onclick: () => void decide('reject') }, 'Reject');
  return h(
    'section',
    { class: 'card decision', id: 'decision' },
    h('h2', {}, 'Decision'),
    why ? h('p', { id: 'decision-why', class: 'why' }, why) : null,
    h('label', { for: 'comment' }, 'Comment'),
    comment,
    h('div', { class: 'buttons' }, approve, reject),
    result,
  );
}

/** refreshLive shows the applied targets' live conditions, re-reading them until every one is settled. */
async function refreshLive(section: HTMLElement, changes: Change[], current: () => boolean, round: number): Promise<void> {
  const rows = await Promise.all(
    changes.map(async (c) => {
      const k = kindConfig(c.kind);
      if (c.operation === 'delete') return { c, note: 'deleted' };
      if (!k) return { c, note: 'unknown kind' };
      if (!canRead(k)) return { c, note: `reading ${k.plural} needs ${k.readScope ?? 'a scope you do not have'}` };
      try {
        return { c, object: await api<Resource>(`/${k.plural}/${encodeURIComponent(c.name)}`) };
      } catch (err) {
        return { c, note: err instanceof ApiError && err.status === 404 ? 'not in the store yet' : String((err as Error).message) };
      }
    }),
  );
  if (!current()) return;
  let settled = true;
  section.replaceChildren(
    h('h2', {}, 'Live state of the targets'),
    ...rows.map(({ c, object, note }) => {
      const conditions = (object?.status?.conditions as Condition[] | undefined) ?? [];
      const ready = conditions.find((x) => x.type === 'Ready');
      if (!note && (!ready || conditions.some((x) => x.type === 'Reconciling' && x.status === 'True'))) settled = false;
      if (note === 'not in the store yet') settled = false;
      return h('div', { class: 'target', 'data-target': `${c.kind}/${c.name}` }, h('h3', {}, targetLink(c)), note ? h('p', { class: 'empty' }, note) : conditionsTable(conditions));
    }),
  );
  if (!settled && round < LIVE_REFRESH_MAX) {
    setTimeout(() => {
      if (current()) void refreshLive(section, changes, current, round + 1);
    }, LIVE_REFRESH_MS);
  }
}

// ---- diff --------------------------------------------------------------------------------------------

function diffView(text: string): HTMLElement {
  const files = parseDiff(text);
  if (files.length === 0) return h('p', { class: 'empty', id: 'diff' }, 'No diff: applying would change nothing.');
  return h(
    'div',
    { id: 'diff' },
    files.map((f) =>
      h(
        'section',
        { class: 'diff-file', 'data-path': f.path },
        h('h3', {}, h('code', {}, f.path || '(unnamed)')),
        h('pre', { class: 'diff' }, f.lines.map((l) => h('span', { class: `line ${l.kind}` }, l.text))),
      ),
    ),
  );
}

// ---- resources ---------------------------------------------------------------------------------------

async function showResources(current: () => boolean): Promise<void> {
  const kinds = (config?.kinds ?? []).filter((k) => k.kind !== 'Proposal');
  const lists = await Promise.all(
    kinds.map(async (k) => {
      if (!canRead(k)) return { k, denied: `Reading ${k.plural} needs the ${k.readScope ?? 'right'} scope.` };
      try {
        return { k, items: (await api<{ items: Resource[] }>(`/${k.plural}`)).items };
      } catch (err) {
        return { k, denied: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err) };
      }
    }),
  );
  if (!current()) return;
  show(
    header(),
    h(
      'main',
      {},
      h('h1', {}, 'Resources'),
      lists.map(({ k, items, denied }) =>
        h(
          'section',
          { class: 'kind', id: `kind-${k.plural}` },
          h('h2', {}, k.kind, h('span', { class: 'count' }, items ? ` (${items.length})` : '')),
          denied
            ? h('p', { class: 'empty' }, denied)
            : items!.length === 0
              ? h('p', { class: 'empty' }, 'None.')
              : h(
                  'table',
                  {},
                  h('thead', {}, h('tr', {}, ['Name', 'Ready', 'Reason', 'Message', 'Age'].map((c) => h('th', {}, c)))),
                  h(
                    'tbody',
                    {},
                    items!.map((r) => {
                      const ready = ((r.status?.conditions as Condition[] | undefined) ?? []).find((c) => c.type === 'Ready');
                      return h(
                        'tr',
                        { 'data-resource': `${k.kind}/${r.metadata.name}` },
                        h('td', {}, h('a', { href: link(['resources', k.plural, r.metadata.name]) }, r.metadata.name)),
                        h('td', {}, statusBadge(ready?.status)),
                        h('td', {}, ready?.reason ?? ''),
                        h('td', { class: 'message-cell' }, ready?.message ?? ''),
                        h('td', {}, time(r.metadata.creationTimestamp, ago(r.metadata.creationTimestamp))),
                      );
                    }),
                  ),
                ),
        ),
      ),
    ),
  );
}

function statusBadge(status: string | undefined): HTMLElement {
  const s = status ?? 'Unknown';
  return h('span', { class: `badge cond-${s.toLowerCase().replace(/[^a-z]/g, '')}` }, s);
}

async function showResource(plural: string, name: string, current: () => boolean): Promise<void> {
  const d = await api<Description>(`/${encodeURIComponent(plural)}/${encodeURIComponent(name)}/describe`);
  if (!current()) return;
  const o = d.object;
  const labels = Object.entries(o.metadata.labels ?? {});
  const annotations = Object.entries(o.metadata.annotations ?? {});
  show(
    header(),
    h(
      'main',
      {},
      h('p', {}, h('a', { href: '#/resources' }, '← Resources')),
      h('h1', {}, `${o.kind} `, h('code', {}, o.metadata.name)),
      h(
        'dl',
        { class: 'facts' },
        fact('Kind', o.kind),
        fact('Created', time(o.metadata.creationTimestamp, ago(o.metadata.creationTimestamp))),
        d.origin ? fact('Origin', h('code', {}, `${d.origin.file}:${d.origin.line}`)) : null,
        labels.length ? fact('Labels', labels.map(([k, v]) => h('div', {}, h('code', {}, `${k}=${v}`)))) : null,
        annotations.length ? fact('Annotations', annotations.map(([k, v]) => h('div', {}, h('code', {}, `${k}=${v}`)))) : null,
      ),
      d.manifestErrors.length ? h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'Manifest errors (the last good version stays in force):'), h('ul', {}, d.manifestErrors.map((e) => h('li', {}, `${e.code}: ${e.message}`)))) : null,
      h('h2', {}, 'Conditions'),
      conditionsTable(d.conditions),
      h('h2', {}, 'Events'),
      d.events.length === 0
        ? h('p', { class: 'empty' }, 'No recent events.')
        : h(
            'table',
            { id: 'events' },
            h('thead', {}, h('tr', {}, ['Type', 'Reason', 'Message', 'Count', 'Last seen'].map((c) => h('th', {}, c)))),
            h('tbody', {}, d.events.map((e) => h('tr', { class: e.type === 'Warning' ? 'warning' : undefined }, h('td', {}, e.type), h('td', {}, e.reason), h('td', {}, e.message), h('td', {}, e.count), h('td', {}, time(e.lastTimestamp, ago(e.lastTimestamp)))))),
          ),
      h('h2', {}, 'Spec'),
      h('pre', { class: 'spec' }, JSON.stringify(o.spec ?? {}, null, 2)),
    ),
  );
}

function conditionsTable(conditions: Condition[]): HTMLElement {
  if (conditions.length === 0) return h('p', { class: 'empty' }, 'No conditions reported yet.');
  return h(
    'table',
    { class: 'conditions' },
    h('thead', {}, h('tr', {}, ['Type', 'Status', 'Reason', 'Message', 'Since'].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      conditions.map((c) => h('tr', { 'data-condition': c.type }, h('td', {}, c.type), h('td', {}, statusBadge(c.status)), h('td', {}, c.reason ?? ''), h('td', {}, c.message ?? ''), h('td', {}, time(c.lastTransitionTime, ago(c.lastTransitionTime))))),
    ),
  );
}

// ---- start -------------------------------------------------------------------------------------------

window.addEventListener('hashchange', () => void render());
void render();
