// The HealthProbe spec as the controller reads it: the schema's shapes as types, the schema's
// defaults applied in one place (the store keeps the manifest as written, without defaults), and
// the small contract every probe type implements.

import { TerminalError } from '../runtime/index.ts';
import { parseDurationMs, type LabelSelector } from '../container/spec.ts';
import type { ResourceStore } from '../../resources/store.ts';

/** HttpProbeSpec is `spec.http`. */
export interface HttpProbeSpec {
  url: string;
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS' | 'PATCH';
  expectStatus?: number[];
  bodyRegex?: string;
  headers?: Record<string, string>;
  body?: string;
  insecureSkipVerify?: boolean;
}

/** TcpProbeSpec is `spec.tcp`. */
export interface TcpProbeSpec {
  host: string;
  port: number;
}

/** DnsRecordType is a record type a dns probe can ask for. */
export type DnsRecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'CNAME' | 'NS' | 'SRV' | 'PTR';

/** DnsProbeSpec is `spec.dns`. */
export interface DnsProbeSpec {
  name: string;
  type?: DnsRecordType;
  expect?: string;
  server?: string;
  port?: number;
}

/** TlsProbeSpec is `spec.tls`. */
export interface TlsProbeSpec {
  host: string;
  port?: number;
  serverName?: string;
  minDaysValid?: number;
  insecureSkipVerify?: boolean;
}

/** ExecProbeSpec is `spec.exec`. */
export interface ExecProbeSpec {
  command: string[];
}

/** ContainerProbeSpec is `spec.container`. */
export interface ContainerProbeSpec {
  name: string;
}

/** HealthProbeSpec is the spec of a HealthProbe, as schemas/healthprobe.schema.json defines it. */
export interface HealthProbeSpec {
  http?: HttpProbeSpec;
  tcp?: TcpProbeSpec;
  dns?: DnsProbeSpec;
  tls?: TlsProbeSpec;
  exec?: ExecProbeSpec;
  container?: ContainerProbeSpec;
  interval?: string;
  timeout?: string;
  failureThreshold?: number;
  successThreshold?: number;
  suspend?: boolean;
  hostSelector?: LabelSelector;
}

/** ProbeType names the probe kinds, in the schema's order. */
export type ProbeType = 'http' | 'tcp' | 'dns' | 'tls' | 'exec' | 'container';

/** PROBE_TYPES lists every ProbeType. */
export const PROBE_TYPES: readonly ProbeType[] = ['http', 'tcp', 'dns', 'tls', 'exec', 'container'];

/** PROBE_DEFAULTS are the schema's defaults; the controller applies them, the store does not. */
export const PROBE_DEFAULTS = {
  interval: '30s',
  timeout: '5s',
  failureThreshold: 3,
  successThreshold: 1,
  httpMethod: 'GET',
  dnsType: 'A',
  dnsPort: 53,
  tlsPort: 443,
  tlsMinDaysValid: 14,
} as const;

/** MIN_INTERVAL_MS keeps a "0s" or "1ms" interval from turning a probe into a busy loop. */
export const MIN_INTERVAL_MS = 100;
/** MAX_TIMEOUT_MS caps one probe, so a probe cannot hold a worker longer than the reconcile deadline allows. */
export const MAX_TIMEOUT_MS = 60_000;

/** ResolvedProbe is a spec with every default applied and durations in milliseconds. */
export interface ResolvedProbe {
  type: ProbeType;
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  spec: HealthProbeSpec;
}

/**
 * resolveProbe applies the schema's defaults. A spec that passed the schema always resolves; one that
 * did not (none or two probe types, a bad duration) throws a TerminalError, since retrying cannot fix it.
 */
export function resolveProbe(spec: HealthProbeSpec): ResolvedProbe {
  const types = PROBE_TYPES.filter((t) => spec[t] !== undefined);
  if (types.length !== 1) {
    throw new TerminalError('InvalidSpec', `must set exactly one of ${PROBE_TYPES.join(', ')}${types.length ? ` (found ${types.join(', ')})` : ''}`);
  }
  let intervalMs: number;
  let timeoutMs: number;
  try {
    intervalMs = parseDurationMs(spec.interval ?? PROBE_DEFAULTS.interval);
    timeoutMs = parseDurationMs(spec.timeout ?? PROBE_DEFAULTS.timeout);
  } catch (err) {
    throw new TerminalError('InvalidSpec', (err as Error).message, { cause: err });
  }
  return {
    type: types[0]!,
    intervalMs: Math.max(MIN_INTERVAL_MS, intervalMs),
    timeoutMs: Math.min(MAX_TIMEOUT_MS, Math.max(1, timeoutMs)),
    failureThreshold: spec.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
    successThreshold: spec.successThreshold ?? PROBE_DEFAULTS.successThreshold,
    spec,
  };
}

/** ProbeOutcome is what one probe found; a probe reports a failing target here instead of throwing. */
export interface ProbeOutcome {
  success: boolean;
  /** message: the detail a user reads in status.message (status code, error, answer). */
  message: string;
  /** daysUntilExpiry: tls probes only. */
  daysUntilExpiry?: number;
}

/** ProbeContext is what a probe gets besides its spec. */
export interface ProbeContext {
  /** signal aborts when the probe's timeout passes or the controller stops. */
  signal: AbortSignal;
  timeoutMs: number;
  /** store: the container probe reads the Container's status from it. */
  store: ResourceStore;
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'name does not resolve',
  EAI_AGAIN: 'name resolution failed temporarily',
  EPIPE: 'connection closed by peer',
  EADDRNOTAVAIL: 'address not available',
};

/** describeError turns a socket or resolver error into the short text users know ("connection refused"). */
export function describeError(err: unknown, signal?: AbortSignal, timeoutMs?: number): string {
  if (signal?.aborted && isTimeout(signal.reason)) return `timed out after ${formatMs(timeoutMs)}`;
  if (isTimeout(err)) return `timed out after ${formatMs(timeoutMs)}`;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && ERRNO_TEXT[code]) return ERRNO_TEXT[code];
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || (err as { code?: unknown }).code === 'ETIMEOUT');
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return 'the probe timeout';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** abortable rejects with the signal's reason once it aborts, for calls that cannot be cancelled themselves (getaddrinfo). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** clipMessage keeps status.message within the schema's 4096 characters. */
export function clipMessage(message: string, max = 4096): string {
  return message.length > max ? `${message.slice(0, max - 1)}…` : message;
}
