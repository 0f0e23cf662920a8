import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { AuditEntry } from '../../../../controllers/audit/types.ts';
import type { Principal } from '../../../../resources/identity.ts';
import {
  bearerAuth,
  defaultAllowedHosts,
  hostOriginGuard,
  jsonBody,
  jsonErrorHandler,
  principalOf,
  rateLimit,
  requireScope,
  type HttpSecurityOptions,
} from '../../../../mcp/http/security.ts';
import { appWith, bearer, call, listen, newAuth, type Auth } from './fixtures.ts';

interface Served {
  port: number;
  auth: Auth;
  audit: AuditEntry[];
  host: string;
  clock: { ms: number };
}

/** serve mounts the four guards the way the agent does, in front of a few probe routes. */
async function serve(t: TestContext, extra: Partial<HttpSecurityOptions> = {}): Promise<Served> {
  const auth = await newAuth(t);
  const audit: AuditEntry[] = [];
  const clock = { ms: 1_000_000 };
  let port = 0;
  const opts: HttpSecurityOptions = {
    tokens: auth.tokens,
    allowedHosts: () => defaultAllowedHosts(port, ['box.tailnet.ts.net']),
    audit: { append: (e) => audit.push(e) },
    now: () => clock.ms,
    ...extra,
  };
  const app = appWith((a) => {
    a.use('/api', hostOriginGuard(opts), bearerAuth(opts), rateLimit(opts), jsonBody(opts));
    a.get('/api/me', (_req, res) => {
      const p: Principal = principalOf(res);
      res.json({ identity: p.identity, scopes: [...p.scopes] });
    });
    a.post('/api/echo', (req, res) => {
      res.json({ got: req.body });
    });
    a.get('/api/tokens', (_req, res) => {
      requireScope(res, 'system:admin', 'reading accesstokens');
      res.json({ ok: true });
    });
    a.use(jsonErrorHandler());
  });
  port = await listen(t, app);
  return { port, auth, audit, host: `127.0.0.1:${port}`, clock };
}

test('a request without a token is refused with 401 and a Bearer challenge', async (t) => {
  const s = await serve(t);
  const r = await call(s.port, '/api/me');
  assert.equal(r.status, 401);
  assert.equal(r.json.code, 'UNAUTHENTICATED');
  assert.equal(r.headers['www-authenticate'], 'Bearer realm="systemmanager"');
  assert.equal(s.audit.length, 1);
  assert.equal(s.audit[0]!.outcome, 'denied');
  assert.match(s.audit[0]!.detail!, /UNAUTHENTICATED: token missing/);
});

test('a valid bearer token authenticates and carries its agent, token id and scopes', async (t) => {
  const s = await serve(t);
  const { token, id } = s.auth.mint('ops', ['readonly']);
  const r = await call(s.port, '/api/me', { headers: bearer(token) });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.identity, { agent: 'ops', tokenId: id });
  assert.ok(r.json.scopes.includes('container:read'));
  assert.ok(!r.json.scopes.includes('proposals:approve'));
});

test('a token in the query string is refused, even alongside a valid header, and never authenticates', async (t) => {
  const s = await serve(t);
  const { token } = s.auth.mint('ops', ['readonly']);
  for (const path of [`/api/me?access_token=${token}`, `/api/me?token=${token}`, `/api/me?x=${encodeURIComponent(token)}`]) {
    const alone = await call(s.port, path);
    assert.equal(alone.status, 400, path);
    assert.equal(alone.json.code, 'TOKEN_IN_QUERY');
    assert.match(String(alone.headers['www-authenticate']), /error="invalid_request"/);
    const withHeader = await call(s.port, path, { headers: bearer(token) });
    assert.equal(withHeader.status, 400, `${path} with a header too`);
  }
});

test('malformed, truncated, flipped-byte and wrong-scheme tokens are 401 invalid_token', async (t) => {
  const s = await serve(t);
  const { token } = s.auth.mint('ops', ['readonly']);
  const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  const cases: Record<string, string> = {
    malformed: 'Bearer not-a-token',
    truncated: `Bearer ${token.slice(0, -5)}`,
    flipped: `Bearer ${flipped}`,
    'unknown id': `Bearer smt_zzzzzzzzzzzzzzzz_${token.slice(-43)}`,
    basic: `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
    'two tokens': `Bearer ${token} ${token}`,
  };
  for (const [name, header] of Object.entries(cases)) {
    const r = await call(s.port, '/api/me', { headers: { authorization: header } });
    assert.equal(r.status, 401, name);
    assert.equal(r.json.code, 'UNAUTHENTICATED', name);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="systemmanager", error="invalid_token"', name);
    assert.doesNotMatch(r.text, /mismatch|unknown|malformed/, `${name}: the reason is for the audit log, not the client`);
  }
});

test('an expired token is refused; revoking or deleting a token takes effect on the next request', async (t) => {
  const s = await serve(t);
  const expired = s.auth.mint('old', ['readonly'], -1000);
  assert.equal((await call(s.port, '/api/me', { headers: bearer(expired.token) })).status, 401);

  const live = s.auth.mint('ops', ['readonly']);
  assert.equal((await call(s.port, '/api/me', { headers: bearer(live.token) })).status, 200);
  const current = s.auth.store.get('AccessToken', live.name)!;
  s.auth.store.upsert({ apiVersion: current.apiVersion, kind: 'AccessToken', metadata: { name: live.name }, spec: { ...current.spec, revoked: true } });
  assert.equal((await call(s.port, '/api/me', { headers: bearer(live.token) })).status, 401);

  const other = s.auth.mint('ops2', ['readonly']);
  assert.equal((await call(s.port, '/api/me', { headers: bearer(other.token) })).status, 200);
  s.auth.store.delete('AccessToken', other.name);
  assert.equal((await call(s.port, '/api/me', { headers: bearer(other.token) })).status, 401);
});

test('a missing scope is 403 insufficient_scope naming the scope', async (t) => {
  const s = await serve(t);
  const { token } = s.auth.mint('reader', ['readonly']);
  const r = await call(s.port, '/api/tokens', { headers: bearer(token) });
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 'FORBIDDEN_SCOPE');
  assert.equal(r.json.error, 'insufficient_scope');
  assert.equal(r.json.scope, 'system:admin');
  assert.match(r.json.message, /reading accesstokens needs the system:admin scope/);
  assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope", scope="system:admin"/);
  const admin = s.auth.mint('root', ['admin']);
  assert.equal((await call(s.port, '/api/tokens', { headers: bearer(admin.token) })).status, 200);
});

test('a Host that is not allowed is 403 FORBIDDEN_HOST before authentication; loopback and tailnet names pass', async (t) => {
  const s = await serve(t);
  const { token } = s.auth.mint('ops', ['readonly']);
  for (const host of ['evil.example:' + s.port, 'evil.example', `127.0.0.1:${s.port + 1}`, `localhost.evil.example:${s.port}`]) {
    const r = await call(s.port, '/api/me', { headers: { ...bearer(token), host } });
    assert.equal(r.status, 403, `Host ${JSON.stringify(host)}`);
    assert.equal(r.json.code, 'FORBIDDEN_HOST');
  }
  const unauthenticated = await call(s.port, '/api/me', { headers: { host: 'evil.example' } });
  assert.equal(unauthenticated.status, 403, 'the Host check runs before authentication');
  for (const host of [`localhost:${s.port}`, `127.0.0.1:${s.port}`, `[::1]:${s.port}`, 'box.tailnet.ts.net', 'BOX.tailnet.ts.net:443']) {
    const r = await call(s.port, '/api/me', { headers: { ...bearer(token), host } });
    assert.equal(r.status, 200, `Host ${host}`);
  }
});

test('a foreign browser Origin is 403 FORBIDDEN_ORIGIN; no Origin and the server’s own Origin pass', async (t) => {
  const s = await serve(t, {});
  const { token } = s.auth.mint('ops', ['readonly']);
  for (const origin of ['http://evil.example', `http://evil.example:${s.port}`, 'null', `https://127.0.0.1:${s.port}.evil.example`, `http://localhost:${s.port}`]) {
    const r = await call(s.port, '/api/me', { headers: { ...bearer(token), origin } });
    assert.equal(r.status, 403, `Origin ${origin}`);
    assert.equal(r.json.code, 'FORBIDDEN_ORIGIN');
  }
  assert.equal((await call(s.port, '/api/me', { headers: { ...bearer(token), origin: `http://127.0.0.1:${s.port}` } })).status, 200);
  assert.equal((await call(s.port, '/api/me', { headers: bearer(token) })).status, 200);
});

test('configured allowedOrigins are accepted', async (t) => {
  const s = await serve(t, { allowedOrigins: ['https://ops.example'] });
  const { token } = s.auth.mint('ops', ['readonly']);
  assert.equal((await call(s.port, '/api/me', { headers: { ...bearer(token), origin: 'https://ops.example' } })).status, 200);
});

test('a 10 MB body is 413 PAYLOAD_TOO_LARGE as JSON; broken JSON is 400 BAD_REQUEST', async (t) => {
  const s = await serve(t);
  const { token } = s.auth.mint('ops', ['readonly']);
  const big = JSON.stringify({ pad: 'x'.repeat(10 * 1024 * 1024) });
  const r = await call(s.port, '/api/echo', { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: big });
  assert.equal(r.status, 413);
  assert.equal(r.json.code, 'PAYLOAD_TOO_LARGE');
  const broken = await call(s.port, '/api/echo', { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: '{"a":' });
  assert.equal(broken.status, 400);
  assert.equal(broken.json.code, 'BAD_REQUEST');
  const ok = await call(s.port, '/api/echo', { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: '{"a":1}' });
  assert.deepEqual(ok.json, { got: { a: 1 } });
});

test('an unauthenticated large body is refused with 401 without being parsed', async (t) => {
  const s = await serve(t);
  const r = await call(s.port, '/api/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }) });
  assert.equal(r.status, 401);
});

test('the rate limit is per token: 429 with Retry-After past the budget, and the budget refills', async (t) => {
  const s = await serve(t, { rateLimitPerMinute: 3 });
  const a = s.auth.mint('a', ['readonly']);
  const b = s.auth.mint('b', ['readonly']);
  for (let i = 0; i < 3; i++) assert.equal((await call(s.port, '/api/me', { headers: bearer(a.token) })).status, 200);
  const limited = await call(s.port, '/api/me', { headers: bearer(a.token) });
  assert.equal(limited.status, 429);
  assert.equal(limited.json.code, 'RATE_LIMITED');
  assert.equal(limited.headers['retry-after'], '20', 'one request per 20 s refills a budget of 3 per minute');
  assert.equal((await call(s.port, '/api/me', { headers: bearer(b.token) })).status, 200, 'another token has its own budget');
  s.clock.ms += 20_000;
  assert.equal((await call(s.port, '/api/me', { headers: bearer(a.token) })).status, 200);
  assert.equal((await call(s.port, '/api/me', { headers: bearer(a.token) })).status, 429);
});

test('Tailscale identity headers from a trusted proxy are merged into the identity', async (t) => {
  const s = await serve(t); // default trusted proxies: loopback, which is where the test connects from
  const { token } = s.auth.mint('ops', ['readonly']);
  const r = await call(s.port, '/api/me', { headers: { ...bearer(token), 'tailscale-user-login': 'alice@example.com', 'tailscale-user-name': 'Alice' } });
  assert.equal(r.status, 200);
  assert.equal(r.json.identity.tailscaleLogin, 'alice@example.com');
  assert.equal(r.json.identity.tailscaleName, 'Alice');
  assert.equal(r.json.identity.agent, 'ops', 'the headers add to the token identity, never replace it');
});

test('forged Tailscale headers from an address that is not a trusted proxy are ignored', async (t) => {
  const s = await serve(t, { trustedProxies: ['192.0.2.10'] });
  const { token } = s.auth.mint('ops', ['readonly']);
  const r = await call(s.port, '/api/me', { headers: { ...bearer(token), 'tailscale-user-login': 'admin@example.com', 'tailscale-user-name': 'Admin' } });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json.identity).sort(), ['agent', 'tokenId']);
  const alone = await call(s.port, '/api/me', { headers: { 'tailscale-user-login': 'admin@example.com' } });
  assert.equal(alone.status, 401, 'Tailscale headers never authenticate by themselves');
});
