// Container log analysis: lines stream through a LogAnalyzer one at a time and only aggregates are
// kept (signatures by count, per-minute counts, a few evidence lines per rule), so memory depends
// on the number of distinct signatures (capped), never on the size of the log. Signatures mask what
// varies between occurrences (timestamps, ids, addresses, numbers). The rules are simple
// alternations without nested quantifiers, run on lines cut to MAX_LINE_CHARS, so matching stays linear.

/** ContainerRuntimeState is what Docker says about the container, for rules no log line shows (OOM kill, restarts). */
export interface ContainerRuntimeState {
  status?: string;
  oomKilled?: boolean;
  restartCount?: number;
  exitCode?: number;
  error?: string;
}

/** LogRule is one likely cause: a line pattern, or a check of the container state. */
export interface LogRule {
  id: string;
  title: string;
  pattern?: RegExp;
  fromState?: (s: ContainerRuntimeState) => string | undefined;
  recommendation: string;
}

/** LOG_RULES are the likely causes the analysis looks for. */
export const LOG_RULES: readonly LogRule[] = [
  {
    id: 'oom-kill',
    title: 'Out of memory (OOM kill)',
    pattern: /out of memory|oom[- _]?kill|killed process \d+|cannot allocate memory|outofmemoryerror|memoryerror|heap out of memory/i,
    fromState: (s) => (s.oomKilled ? `Docker reports OOMKilled=true (exit code ${s.exitCode ?? 'unknown'})` : undefined),
    recommendation: 'Raise the memory limit (spec.resources.memory) or reduce the working set; look for a leak if usage grows steadily.',
  },
  {
    id: 'connection-refused',
    title: 'Connection refused',
    pattern: /connection refused|econnrefused/i,
    recommendation: 'The peer is not listening: check that the dependency is up (dependsOn, health), its address and port, and the container network.',
  },
  {
    id: 'dns-failure',
    title: 'DNS resolution failure',
    pattern: /enotfound|eai_again|could not resolve|name or service not known|temporary failure in name resolution|no such host|name resolution failed|unknown host/i,
    recommendation: 'The name does not resolve from inside the container: check the host name, the container network (none has no DNS) and the resolver.',
  },
  {
    id: 'permission-denied',
    title: 'Permission denied',
    pattern: /permission denied|eacces|eperm|operation not permitted|access denied/i,
    recommendation: 'Check file ownership and modes of mounted volumes against the user the container runs as, and capabilities.',
  },
  {
    id: 'address-in-use',
    title: 'Address already in use',
    pattern: /address already in use|eaddrinuse|port is already allocated|bind failed/i,
    recommendation: 'Another process or container holds the port: get_active_connections shows listeners; change the port or stop the other one.',
  },
  {
    id: 'disk-full',
    title: 'Disk full',
    pattern: /no space left on device|enospc|disk quota exceeded|disk full|not enough space/i,
    recommendation: 'Free space on the volume or host file system (get_system_status shows usage); rotate logs, prune images.',
  },
  {
    id: 'tls-error',
    title: 'TLS/certificate error',
    pattern: /x509:|certificate (?:has expired|verify failed|is not valid|signed by unknown)|tls handshake|ssl routines|cert_has_expired|unable_to_verify_leaf_signature|self[- ]signed certificate|handshake failure|wrong version number/i,
    recommendation: 'Check the certificate chain and expiry (check_ssl_certificate), the CA bundle in the image, and the server name.',
  },
  {
    id: 'crash-loop',
    title: 'Crash loop',
    fromState: (s) =>
      (s.restartCount ?? 0) >= 3 || s.status === 'restarting'
        ? `restarted ${s.restartCount ?? 0} times, status ${s.status ?? 'unknown'}, last exit code ${s.exitCode ?? 'unknown'}`
        : undefined,
    recommendation: 'The process keeps exiting: read the last lines before each restart, and fix the cause above before raising restart limits.',
  },
];

const ERROR = /\b(?:error|err|fatal|panic|exception|critical|crit|emerg|alert|failed|failure|traceback)\b/i;
const WARNING = /\b(?:warn|warning|deprecated)\b/i;
const LEADING_TS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))\s/;

/** MAX_LINE_CHARS is how much of a line is analyzed. */
export const MAX_LINE_CHARS = 4096;
const MAX_SIGNATURES = 2000;
const MAX_EVIDENCE = 3;
const MAX_MINUTES = 100_000;
const TOP_SIGNATURES = 20;
const RATE_BUCKETS = 24;

/** normalizeSignature masks what varies between occurrences of the same message. */
export function normalizeSignature(line: string): string {
  return line
    .slice(0, 300)
    .replace(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<ts>')
    .replace(/\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, '<ip>')
    .replace(/\b(?:0x)?[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/\d+/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

interface SignatureStats {
  level: 'error' | 'warning';
  count: number;
  first?: string;
  last?: string;
  example: string;
}

/** LogAnalysis is the compact result an agent (or the client's model) reads instead of the raw log. */
export interface LogAnalysis {
  lines: number;
  errors: number;
  warnings: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  signatures: Array<{ signature: string; level: string; count: number; firstSeen?: string; lastSeen?: string; example: string }>;
  distinctSignatures: number;
  signaturesCapped: boolean;
  rate: { bucketSeconds: number; buckets: Array<{ start: string; lines: number; errors: number; warnings: number }> };
  likelyCauses: Array<{ id: string; title: string; occurrences: number; evidence: string[]; recommendation: string }>;
}

/** LogAnalyzer folds log lines into a LogAnalysis. Lines may start with Docker's RFC 3339 timestamp. */
export class LogAnalyzer {
  private lines = 0;
  private errors = 0;
  private warnings = 0;
  private first: string | undefined;
  private last: string | undefined;
  private readonly signatures = new Map<string, SignatureStats>();
  private capped = false;
  private readonly minutes = new Map<number, { lines: number; errors: number; warnings: number }>();
  private readonly hits = new Map<string, { count: number; evidence: string[] }>();

  /** add analyzes one line. */
  add(rawLine: string): void {
    this.lines++;
    let line = rawLine.length > MAX_LINE_CHARS ? rawLine.slice(0, MAX_LINE_CHARS) : rawLine;
    let ts: string | undefined;
    const m = LEADING_TS.exec(line);
    if (m) {
      ts = m[1]!;
      line = line.slice(m[0].length);
      this.first ??= ts;
      this.last = ts;
    }
    const level = ERROR.test(line) ? 'error' : WARNING.test(line) ? 'warning' : undefined;
    if (level === 'error') this.errors++;
    else if (level === 'warning') this.warnings++;
    if (ts) {
      const minute = Math.floor(Date.parse(ts) / 60_000);
      let b = this.minutes.get(minute);
      if (!b && this.minutes.size < MAX_MINUTES) this.minutes.set(minute, (b = { lines: 0, errors: 0, warnings: 0 }));
      if (b) {
        b.lines++;
        if (level === 'error') b.errors++;
        else if (level === 'warning') b.warnings++;
      }
    }
    if (level) {
      const sig = normalizeSignature(line);
      let s = this.signatures.get(sig);
      if (!s) {
        if (this.signatures.size >= MAX_SIGNATURES) this.capped = true;
        else this.signatures.set(sig, (s = { level, count: 0, example: line.slice(0, 300) }));
      }
      if (s) {
        s.count++;
        if (ts) {
          s.first ??= ts;
          s.last = ts;
        }
      }
    }
    for (const rule of LOG_RULES) {
      if (!rule.pattern || !rule.pattern.test(line)) continue;
      let h = this.hits.get(rule.id);
      if (!h) this.hits.set(rule.id, (h = { count: 0, evidence: [] }));
      h.count++;
      const shown = (ts ? `${ts} ` : '') + line.slice(0, 300);
      if (h.evidence.length < MAX_EVIDENCE && !h.evidence.some((e) => e.endsWith(line.slice(0, 300)))) h.evidence.push(shown);
    }
  }

  /** result summarizes what was added, with the rules that look at the container's state. */
  result(state: ContainerRuntimeState = {}): LogAnalysis {
    const signatures = [...this.signatures.entries()]
      .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
      .slice(0, TOP_SIGNATURES)
      .map(([signature, s]) => ({ signature, level: s.level, count: s.count, ...(s.first ? { firstSeen: s.first, lastSeen: s.last } : {}), example: s.example }));
    const likelyCauses: LogAnalysis['likelyCauses'] = [];
    for (const rule of LOG_RULES) {
      const h = this.hits.get(rule.id);
      const fromState = rule.fromState?.(state);
      if (!h && !fromState) continue;
      likelyCauses.push({
        id: rule.id,
        title: rule.title,
        occurrences: h?.count ?? 0,
        evidence: [...(fromState ? [fromState] : []), ...(h?.evidence ?? [])],
        recommendation: rule.recommendation,
      });
    }
    likelyCauses.sort((a, b) => b.evidence.length - a.evidence.length || b.occurrences - a.occurrences);
    return {
      lines: this.lines,
      errors: this.errors,
      warnings: this.warnings,
      ...(this.first ? { firstTimestamp: this.first, lastTimestamp: this.last } : {}),
      signatures,
      distinctSignatures: this.signatures.size,
      signaturesCapped: this.capped,
      rate: this.rate(),
      likelyCauses,
    };
  }

  private rate(): LogAnalysis['rate'] {
    if (this.minutes.size === 0) return { bucketSeconds: 0, buckets: [] };
    const keys = [...this.minutes.keys()].sort((a, b) => a - b);
    const span = keys.at(-1)! - keys[0]! + 1;
    const per = Math.max(1, Math.ceil(span / RATE_BUCKETS));
    const buckets = new Map<number, { lines: number; errors: number; warnings: number }>();
    for (const k of keys) {
      const start = keys[0]! + Math.floor((k - keys[0]!) / per) * per;
      const b = buckets.get(start) ?? { lines: 0, errors: 0, warnings: 0 };
      const v = this.minutes.get(k)!;
      b.lines += v.lines;
      b.errors += v.errors;
      b.warnings += v.warnings;
      buckets.set(start, b);
    }
    return { bucketSeconds: per * 60, buckets: [...buckets.entries()].map(([start, v]) => ({ start: new Date(start * 60_000).toISOString(), ...v })) };
  }
}
