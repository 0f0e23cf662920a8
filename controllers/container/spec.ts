// The Container spec as the controller reads it (schemas/container.schema.json is the source of
// truth and has validated it before it reaches the store), its normalized form and config hash (the
// Docker Compose convergence key), the Docker create request built from it, and the policy that
// refuses specs which would hand out the host.

import { posix } from 'node:path';
import { canonicalJson, sha256Hex } from '../../resources/canonical.ts';
import { matchesSelector, type LabelSelector } from '../../resources/selector.ts';
import type { ContainerCreateRequest } from './engine.ts';

/** PullPolicy says when an image is pulled. */
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** EnvVar is one environment variable. */
export interface EnvVar {
  name: string;
  value?: string;
}

/** PortMapping publishes a container port on the host. */
export interface PortMapping {
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: 'tcp' | 'udp';
}

/** VolumeMount is a bind mount, a named volume or a tmpfs. */
export interface VolumeMount {
  type: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target: string;
  readOnly?: boolean;
}

/** Healthcheck is Docker's health check, with durations like "30s". */
export interface Healthcheck {
  test: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  startPeriod?: string;
}

export type { LabelSelector, LabelSelectorRequirement } from '../../resources/selector.ts';

/** ContainerSpec is the desired state of a Container resource. */
export interface ContainerSpec {
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  user?: string;
  env?: EnvVar[];
  ports?: PortMapping[];
  volumes?: VolumeMount[];
  network?: string;
  restartPolicy?: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  state?: 'running' | 'stopped';
  labels?: Record<string, string>;
  resources?: { memory?: string; cpus?: number };
  healthcheck?: Healthcheck;
  pullPolicy?: PullPolicy;
  restartedAt?: string;
  dependsOn?: string[];
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  readOnlyRootFilesystem?: boolean;
  stopTimeout?: string;
  suspend?: boolean;
  hostSelector?: LabelSelector;
}

/** LABEL_MANAGED_BY marks a container as ours; containers without it are never touched. */
export const LABEL_MANAGED_BY = 'io.systemmanager.managed-by';
/** MANAGED_BY_VALUE is the value of LABEL_MANAGED_BY. */
export const MANAGED_BY_VALUE = 'systemmanager';
/** LABEL_NAME names the Container resource a container belongs to. */
export const LABEL_NAME = 'io.systemmanager.name';
/** LABEL_CONFIG_HASH holds configHash(spec) of the spec the container was created from. */
export const LABEL_CONFIG_HASH = 'io.systemmanager.config-hash';
/** LABEL_RESTARTED_AT holds spec.restartedAt as it was when the container was created. */
export const LABEL_RESTARTED_AT = 'io.systemmanager.restarted-at';
/** MANAGED_SELECTOR is the Docker label filter matching every managed container. */
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
/** LABEL_INSTANCE scopes managed containers to one controller instance when several share an engine. */
export const LABEL_INSTANCE = 'io.systemmanager.instance';

/**
 * Ownership says which managed containers belong to this controller. Without an instance (the
 * normal case: one agent per host) it owns every container labelled managed-by=systemmanager that
 * has no instance label; with one, only those labelled with that instance. Tests and benchmarks use
 * an instance so that they never adopt or prune each other's containers on a shared engine.
 */
export interface Ownership {
  instance?: string;
}

/** ownershipLabels are the labels that mark a container as owned. */
export function ownershipLabels(o: Ownership = {}): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, ...(o.instance ? { [LABEL_INSTANCE]: o.instance } : {}) };
}

/** ownershipFilters are Docker label filters that select (a superset of) the owned containers. */
export function ownershipFilters(o: Ownership = {}): string[] {
  return [MANAGED_SELECTOR, ...(o.instance ? [`${LABEL_INSTANCE}=${o.instance}`] : [])];
}

/** isOwned tells whether labels mark a container as owned (and, with `name`, as belonging to that resource). */
export function isOwned(labels: Record<string, string> | undefined, o: Ownership = {}, name?: string): boolean {
  if (labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) return false;
  if (labels[LABEL_INSTANCE] !== o.instance) return false;
  return name === undefined ? typeof labels[LABEL_NAME] === 'string' : labels[LABEL_NAME] === name;
}

/** HASH_VERSION changes whenever normalization changes, so the change recreates deliberately. */
const HASH_VERSION = 1;

/**
 * normalizeSpec returns the fields that define the container, with defaults filled in and lists
 * whose order Docker ignores sorted, so equal containers have equal normal forms. Left out: state,
 * restartedAt, suspend, dependsOn, pullPolicy and hostSelector, which steer the controller but do
 * not change what Docker creates.
 */
export function normalizeSpec(spec: ContainerSpec): Record<string, unknown> {
  const network = spec.network ?? 'none';
  const publishes = network !== 'none' && network !== 'host';
  const out: Record<string, unknown> = {
    v: HASH_VERSION,
    image: spec.image,
    network,
    restartPolicy: spec.restartPolicy ?? 'no',
  };
  if (spec.command) out.command = [...spec.command];
  if (spec.args) out.args = [...spec.args];
  if (spec.workingDir) out.workingDir = spec.workingDir;
  if (spec.user) out.user = spec.user;
  if (spec.env?.length) out.env = spec.env.map((e) => ({ name: e.name, value: e.value ?? '' })).sort((a, b) => cmp(a.name, b.name));
  if (publishes && spec.ports?.length) {
    out.ports = spec.ports
      .map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort ?? p.containerPort, hostIP: p.hostIP ?? '', protocol: p.protocol ?? 'tcp' }))
      .sort((a, b) => cmp(canonicalJson(a), canonicalJson(b)));
  }
  if (spec.volumes?.length) {
    out.volumes = spec.volumes
      .map((v) => ({ type: v.type, source: v.type === 'tmpfs' ? '' : (v.source ?? ''), target: v.target, readOnly: v.readOnly ?? false }))
      .sort((a, b) => cmp(a.target, b.target));
  }
  if (spec.labels && Object.keys(spec.labels).length) out.labels = { ...spec.labels };
  if (spec.resources?.memory !== undefined) out.memoryBytes = parseQuantity(spec.resources.memory);
  if (spec.resources?.cpus !== undefined) out.nanoCpus = Math.round(spec.resources.cpus * 1e9);
  if (spec.healthcheck) {
    const h = spec.healthcheck;
    out.healthcheck = {
      test: [...h.test],
      intervalNs: h.interval ? parseDurationMs(h.interval) * 1e6 : 0,
      timeoutNs: h.timeout ? parseDurationMs(h.timeout) * 1e6 : 0,
      retries: h.retries ?? 0,
      startPeriodNs: h.startPeriod ? parseDurationMs(h.startPeriod) * 1e6 : 0,
    };
  }
  if (spec.privileged) out.privileged = true;
  const capAdd = normalizeCaps(spec.capAdd);
  const capDrop = normalizeCaps(spec.capDrop);
  if (capAdd.length) out.capAdd = capAdd;
  if (capDrop.length) out.capDrop = capDrop;
  if (spec.readOnlyRootFilesystem) out.readOnlyRootFilesystem = true;
  if (spec.stopTimeout !== undefined) out.stopTimeoutSeconds = stopTimeoutSeconds(spec);
  return out;
}

/** configHash is the sha256 of the canonical JSON of normalizeSpec(spec). */
export function configHash(spec: ContainerSpec): string {
  return sha256Hex(canonicalJson(normalizeSpec(spec)));
}

/** desiredState is spec.state with its default. */
export function desiredState(spec: ContainerSpec): 'running' | 'stopped' {
  return spec.state ?? 'running';
}

/** stopTimeoutSeconds is spec.stopTimeout in whole seconds (Docker's unit), or undefined for Docker's default. */
export function stopTimeoutSeconds(spec: ContainerSpec): number | undefined {
  return spec.stopTimeout === undefined ? undefined : Math.ceil(parseDurationMs(spec.stopTimeout) / 1000);
}

/** buildCreateRequest renders the Docker create request for a Container named `name`. */
export function buildCreateRequest(name: string, spec: ContainerSpec, ownership: Ownership = {}): ContainerCreateRequest {
  const n = normalizeSpec(spec);
  const labels: Record<string, string> = {
    ...(spec.labels ?? {}),
    ...ownershipLabels(ownership),
    [LABEL_NAME]: name,
    [LABEL_CONFIG_HASH]: configHash(spec),
  };
  if (spec.restartedAt) labels[LABEL_RESTARTED_AT] = spec.restartedAt;
  const ports = (n.ports as Array<{ containerPort: number; hostPort: number; hostIP: string; protocol: string }> | undefined) ?? [];
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) {
    const k = `${p.containerPort}/${p.protocol}`;
    exposed[k] = {};
    (bindings[k] ??= []).push({ HostIp: p.hostIP, HostPort: String(p.hostPort) });
  }
  const hc = n.healthcheck as { test: string[]; intervalNs: number; timeoutNs: number; retries: number; startPeriodNs: number } | undefined;
  const volumes = (n.volumes as Array<{ type: 'bind' | 'volume' | 'tmpfs'; source: string; target: string; readOnly: boolean }> | undefined) ?? [];
  const request: ContainerCreateRequest = {
    name,
    Image: spec.image,
    Labels: labels,
    ...(spec.command ? { Entrypoint: [...spec.command] } : {}),
    ...(spec.args ? { Cmd: [...spec.args] } : {}),
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.env?.length ? { Env: spec.env.map((e) => `${e.name}=${e.value ?? ''}`) } : {}),
    ...(ports.length ? { ExposedPorts: exposed } : {}),
    ...(n.stopTimeoutSeconds !== undefined ? { StopTimeout: n.stopTimeoutSeconds as number } : {}),
    ...(hc ? { Healthcheck: { Test: hc.test, Interval: hc.intervalNs, Timeout: hc.timeoutNs, Retries: hc.retries, StartPeriod: hc.startPeriodNs } } : {}),
    HostConfig: {
      NetworkMode: n.network as string,
      RestartPolicy: { Name: n.restartPolicy as string },
      ...(ports.length ? { PortBindings: bindings } : {}),
      ...(volumes.length
        ? // Docker refuses a source for tmpfs; the typings insist on one, hence the cast.
          { Mounts: volumes.map((v) => ({ Type: v.type, Target: v.target, ReadOnly: v.readOnly, ...(v.type === 'tmpfs' ? {} : { Source: v.source }) })) as Array<{ Type: 'bind' | 'volume' | 'tmpfs'; Target: string; Source: string; ReadOnly: boolean }> }
        : {}),
      ...(n.memoryBytes !== undefined ? { Memory: n.memoryBytes as number } : {}),
      ...(n.nanoCpus !== undefined ? { NanoCpus: n.nanoCpus as number } : {}),
      ...(n.privileged ? { Privileged: true } : {}),
      ...(n.capAdd ? { CapAdd: n.capAdd as string[] } : {}),
      ...(n.capDrop ? { CapDrop: n.capDrop as string[] } : {}),
      ...(n.readOnlyRootFilesystem ? { ReadonlyRootfs: true } : {}),
    },
  };
  return request;
}

/** hostPortClaims lists the host ports a spec publishes, as `hostIP|port/proto` (empty hostIP = every address). */
export function hostPortClaims(spec: ContainerSpec): Array<{ hostIP: string; hostPort: number; protocol: string }> {
  const n = normalizeSpec(spec);
  return ((n.ports as Array<{ hostPort: number; hostIP: string; protocol: string }> | undefined) ?? []).map((p) => ({
    hostIP: p.hostIP,
    hostPort: p.hostPort,
    protocol: p.protocol,
  }));
}

/** ContainerPolicy lists what a spec may ask for beyond the safe default; everything is refused unless allowed. */
export interface ContainerPolicy {
  allowPrivileged?: boolean;
  /** allowSysAdmin: capAdd SYS_ADMIN (or ALL, which includes it). */
  allowSysAdmin?: boolean;
  /** allowRootBind: a bind mount of the host's `/`. */
  allowRootBind?: boolean;
  /** allowDockerSocketBind: a bind mount of the Docker socket or a directory holding it. */
  allowDockerSocketBind?: boolean;
}

/** PolicyCheck is the outcome of checkPolicy: the refusals, empty when the spec is allowed. */
export interface PolicyCheck {
  violations: string[];
}

/**
 * checkPolicy refuses privileged mode, SYS_ADMIN, and bind mounts of `/` or of the Docker socket
 * (or a directory that holds it, such as /var/run) unless the policy allows them. The spec schema
 * has no host PID or devices fields, so those cannot be asked for at all.
 */
export function checkPolicy(spec: ContainerSpec, policy: ContainerPolicy = {}, dockerSocket = '/var/run/docker.sock'): PolicyCheck {
  const violations: string[] = [];
  if (spec.privileged && !policy.allowPrivileged) violations.push('privileged mode is not allowed');
  const caps = normalizeCaps(spec.capAdd);
  if (!policy.allowSysAdmin && (caps.includes('SYS_ADMIN') || caps.includes('ALL'))) {
    violations.push(`capAdd ${caps.includes('ALL') ? 'ALL (which includes SYS_ADMIN)' : 'SYS_ADMIN'} is not allowed`);
  }
  const sockets = new Set([posix.normalize(dockerSocket), '/var/run/docker.sock', '/run/docker.sock']);
  for (const v of spec.volumes ?? []) {
    if (v.type !== 'bind' || !v.source) continue;
    const src = posix.normalize(v.source).replace(/(.)\/+$/, '$1');
    if (src === '/') {
      if (!policy.allowRootBind) violations.push(`bind mount of the host root "/" (to ${v.target}) is not allowed`);
      continue;
    }
    if (!policy.allowDockerSocketBind && [...sockets].some((s) => s === src || s.startsWith(`${src}/`))) {
      violations.push(`bind mount of ${v.source} exposes the Docker socket (to ${v.target}) and is not allowed`);
    }
  }
  return { violations };
}

/** parseDurationMs parses a Go-style duration ("1h30m", "500ms", "1.5s") to milliseconds. */
export function parseDurationMs(text: string): number {
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const unit = m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 3_600_000;
    total += Number(m[1]) * unit;
    matched = re.lastIndex;
  }
  if (!text || matched !== text.length) throw new TypeError(`not a duration: ${JSON.stringify(text)}`);
  return Math.round(total);
}

/** parseQuantity parses a byte quantity ("64Mi", "1G", "1024") to bytes. */
export function parseQuantity(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(text);
  if (!m) throw new TypeError(`not a quantity: ${JSON.stringify(text)}`);
  const mult: Record<string, number> = { k: 1e3, Ki: 1024, M: 1e6, Mi: 1024 ** 2, G: 1e9, Gi: 1024 ** 3, T: 1e12, Ti: 1024 ** 4 };
  return Math.round(Number(m[1]) * (m[2] ? mult[m[2]]! : 1));
}

/** selectorMatches tells whether a label selector matches a label set; the one implementation is resources/selector.ts. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  return matchesSelector(selector, labels);
}

function normalizeCaps(caps: string[] | undefined): string[] {
  return [...new Set((caps ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, '')))].sort();
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
