// Benchmark (issue 4): what verifying a bearer token costs per request, with 1,000 tokens in the
// index, against the floor of a bare SHA-256 and timingSafeEqual. Prints a table; asserts nothing.
//   node --import tsx test/bench/tokens.bench.ts
// BENCH_TOKENS and BENCH_VERIFICATIONS change the sizes.

import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ResourceStore } from '../../resources/store.ts';
import { mintToken, parseToken, TokenIndex } from '../../controllers/token/index.ts';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 1000);
const VERIFICATIONS = Number(process.env.BENCH_VERIFICATIONS ?? 100_000);

function percentiles(samples: Float64Array): { p50: number; p99: number; mean: number } {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

function measure(label: string, fn: (i: number) => unknown): { label: string; p50: number; p99: number; mean: number; perSecond: number } {
  for (let i = 0; i < 5000; i++) fn(i); // warm up the JIT
  const samples = new Float64Array(VERIFICATIONS);
  const started = performance.now();
  for (let i = 0; i < VERIFICATIONS; i++) {
    const t0 = performance.now();
    fn(i);
    samples[i] = (performance.now() - t0) * 1000;
  }
  const totalMs = performance.now() - started;
  return { label, ...percentiles(samples), perSecond: VERIFICATIONS / (totalMs / 1000) };
}

const store = await ResourceStore.open();
const tokens: string[] = [];
for (let i = 0; i < TOKENS; i++) {
  const minted = mintToken({ agent: `agent-${i % 50}`, scopes: ['readonly'], ttlMs: 86_400_000 });
  store.upsert(minted.resource);
  tokens.push(minted.token);
}
const index = new TokenIndex(store);
const wrong = tokens.map((t) => `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`);
const hashes = tokens.map((t) => createHash('sha256').update(parseToken(t)!.secret).digest());
const secrets = tokens.map((t) => parseToken(t)!.secret);

const rows = [
  measure('floor: sha256 + timingSafeEqual', (i) => timingSafeEqual(createHash('sha256').update(secrets[i % TOKENS]!, 'utf8').digest(), hashes[i % TOKENS]!)),
  measure('verify: valid token', (i) => index.verify(tokens[i % TOKENS])),
  measure('verify: wrong secret (mismatch)', (i) => index.verify(wrong[i % TOKENS])),
  measure('verify: malformed', () => index.verify('smt_nope')),
];
index.close();
await store.close();

console.log(`token verification, ${TOKENS} tokens in the index, ${VERIFICATIONS} calls each (µs per call)\n`);
const header = ['case', 'p50 µs', 'p99 µs', 'mean µs', 'calls/s'];
const body = rows.map((r) => [r.label, r.p50.toFixed(2), r.p99.toFixed(2), r.mean.toFixed(2), Math.round(r.perSecond).toLocaleString('en-US')]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
for (const line of [header, ...body]) console.log(line.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
