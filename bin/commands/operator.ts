// The operator commands, against a running agent's REST API: get, describe, diff, apply,
// proposals, approve, reject. Output follows kubectl (tables, `describe` layout, `Error from server
// (CODE): message`, `diff` exit codes) so it reads at home next to it. apply never changes the
// host itself: it creates a proposal that another identity approves.

import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { canonicalJson } from '../../resources/canonical.ts';
import type { KindInfo } from '../../resources/kinds.ts';
import { loadManifestFile, type LoadedResource } from '../../resources/manifests.ts';
import type { Condition, DesiredResource, Resource } from '../../resources/types.ts';
import { stringifyManifest } from '../../resources/yaml-codec.ts';
import type { CliIO } from '../cli.ts';
import { ApiClient, ApiError, resolveKind } from '../client.ts';

type SetExit = (code: number) => void;

interface ConnectionOptions {
  server?: string;
  token?: string;
}

/** registerOperator adds get, describe, diff, apply, proposals, approve and reject. */
export function registerOperator(program: Command, io: CliIO, setExit: SetExit, now: () => Date = () => new Date()): void {
  const connected = (cmd: Command) =>
    cmd
      .option('-s, --server <url>', 'the agent URL (default $SYSTEMMANAGER_URL or http://127.0.0.1:8080)')
      .option('--token <token>', 'the bearer token (default $SYSTEMMANAGER_TOKEN; prefer the variable: arguments show up in ps)');
  const client = (o: ConnectionOptions) => new ApiClient({ server: o.server, token: o.token });
  const run = (fn: () => Promise<number>, errorExit = 1) =>
    fn().then(setExit, (err: unknown) => {
      printError(io, err);
      setExit(errorExit);
    });

  connected(program.command('get'))
    .description('list resources of a kind, or show one (KIND: plural, singular or Kind, as kubectl)')
    .argument('<kind>', 'containers, images, packages, healthprobes, outputpreferences, accesstokens, proposals, hosts')
    .argument('[name]', 'one resource')
    .option('-o, --output <format>', 'table (default), wide, yaml or json')
    .action((kind: string, name: string | undefined, opts: ConnectionOptions & { output?: string }) =>
      run(async () => {
        const format = outputFormat(opts.output, ['wide', 'yaml', 'json']);
        const info = resolveKind(kind);
        const api = client(opts);
        let items: Resource[];
        if (name === undefined) {
          const list = await api.list(info);
          if (format === 'json' || format === 'yaml') return printObject(io, list, format);
          items = list.items;
        } else {
          const one = await api.get(info, name);
          if (!one) throw new ApiError(404, 'NOT_FOUND', `${info.kind}/${name} not found`);
          if (format === 'json' || format === 'yaml') return printObject(io, one, format);
          items = [one];
        }
        if (items.length === 0) {
          io.err('No resources found.\n');
          return 0;
        }
        io.out(info.kind === 'Proposal' ? proposalTable(items, now()) : resourceTable(info, items, format === 'wide', now()));
        return 0;
      }),
    );

  connected(program.command('describe'))
    .description('show one resource in detail: spec, status, conditions, recent events, manifest errors')
    .argument('<kind>')
    .argument('<name>')
    .action((kind: string, name: string, opts: ConnectionOptions) =>
      run(async () => {
        const info = resolveKind(kind);
        const d = (await client(opts).describe(info, name)) as unknown as DescriptionBody;
        io.out(renderDescription(d, now()));
        return 0;
      }),
    );

  connected(program.command('diff'))
    .description("show what applying FILE would change in the server's desired state (exit 1 when it differs, 0 when not, 2 on error)")
    .requiredOption('-f, --filename <file>', 'a manifest file')
    .action((opts: ConnectionOptions & { filename: string }) =>
      run(async () => {
        const plan = await planApply(client(opts), opts.filename);
        for (const p of plan) if (p.diff) io.out(colorDiff(p.diff, io.color));
        return plan.some((p) => p.diff) ? 1 : 0;
      }, 2),
    );

  connected(program.command('apply'))
    .description('propose the resources of FILE (create or update each); another identity approves the proposal')
    .requiredOption('-f, --filename <file>', 'a manifest file')
    .option('--reason <text>', 'why, shown to the approver (default "apply FILE")')
    .action((opts: ConnectionOptions & { filename: string; reason?: string }) =>
      run(async () => {
        const api = client(opts);
        const plan = await planApply(api, opts.filename);
        const changes = plan.filter((p) => p.diff);
        for (const p of plan) if (!p.diff) io.out(`${p.info.kind.toLowerCase()}/${p.loaded.resource.metadata.name} unchanged\n`);
        if (changes.length === 0) {
          io.out(`no changes: ${opts.filename} matches the server's desired state\n`);
          return 0;
        }
        const proposal = await api.propose(
          changes.map((p) => ({ operation: p.current ? 'update' : 'create', object: p.loaded.resource })),
          opts.reason ?? `apply ${basename(opts.filename)}`,
        );
        const spec = proposal.spec as { risk?: string; changes?: { operation: string; kind: string; name: string }[] };
        io.out(`proposal/${proposal.metadata.name} created\n`);
        io.out(`  risk:    ${spec.risk ?? '-'}\n`);
        for (const c of spec.changes ?? []) io.out(`  change:  ${c.operation} ${c.kind}/${c.name}\n`);
        const diff = typeof proposal.status?.diff === 'string' ? proposal.status.diff : changes.map((p) => p.diff).join('');
        io.out(`\n${colorDiff(diff.endsWith('\n') ? diff : `${diff}\n`, io.color)}\n`);
        io.out(`Nothing changes until another identity with proposals:approve approves it:\n  systemmanager approve ${proposal.metadata.name}\n`);
        return 0;
      }),
    );

  const proposals = program.command('proposals').description('list proposals, or show one with its diff');
  connected(proposals.command('list', { isDefault: true }))
    .description('list proposals: ID, PHASE, RISK, PROPOSER, AGE, EXPIRES, REASON')
    .option('--phase <phase>', 'only this phase (Pending, Applied, Rejected, Expired, Stale, Failed, Approved)')
    .option('-o, --output <format>', 'table (default), yaml or json')
    .action((opts: ConnectionOptions & { phase?: string; output?: string }) =>
      run(async () => {
        const format = outputFormat(opts.output, ['yaml', 'json']);
        const list = await client(opts).list(resolveKind('proposals'), opts.phase ? { phase: opts.phase } : {});
        if (format === 'json' || format === 'yaml') return printObject(io, list, format);
        if (list.items.length === 0) {
          io.err(opts.phase ? `No ${opts.phase} proposals found.\n` : 'No proposals found.\n');
          return 0;
        }
        io.out(proposalTable(list.items, now()));
        return 0;
      }),
    );
  connected(proposals.command('show'))
    .description('show one proposal: who, why, risk, phase and the diff')
    .argument('<id>')
    .option('-o, --output <format>', 'text (default), yaml or json')
    .action((id: string, opts: ConnectionOptions & { output?: string }) =>
      run(async () => {
        const format = outputFormat(opts.output, ['text', 'yaml', 'json']);
        const p = await client(opts).get(resolveKind('proposals'), id);
        if (!p) throw new ApiError(404, 'PROPOSAL_NOT_FOUND', `proposal ${id} not found`);
        if (format === 'json' || format === 'yaml') return printObject(io, p, format);
        io.out(renderProposal(p, now(), io.color));
        return 0;
      }),
    );

  for (const decision of ['approve', 'reject'] as const) {
    connected(program.command(decision))
      .description(decision === 'approve' ? 'approve a proposal: its changes are written to the manifests (and committed)' : 'reject a proposal')
      .argument('<id>')
      .option('--comment <text>', decision === 'approve' ? 'a note kept with the approval' : 'why it was rejected')
      .action((id: string, opts: ConnectionOptions & { comment?: string }) =>
        run(async () => {
          const p = await client(opts).decide(id, decision, opts.comment);
          const status = (p.status ?? {}) as { phase?: string; message?: string; commit?: string };
          io.out(`proposal/${p.metadata.name} ${decision === 'approve' ? 'approved' : 'rejected'} (phase: ${status.phase ?? 'unknown'})\n`);
          if (status.commit) io.out(`  commit:  ${status.commit}\n`);
          if (status.message) io.out(`  message: ${status.message}\n`);
          return status.phase === 'Failed' || status.phase === 'Stale' ? 1 : 0;
        }),
      );
  }
}

function printError(io: CliIO, err: unknown): void {
  if (err instanceof ApiError) io.err(`Error from server (${err.code}): ${err.message}\n`);
  else io.err(`error: ${(err as Error).message}\n`);
}

function outputFormat(value: string | undefined, allowed: string[]): string {
  if (value === undefined) return 'table';
  if (!allowed.includes(value)) throw new Error(`--output must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  return value;
}

function printObject(io: CliIO, value: unknown, format: string): number {
  io.out(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringifyManifest([value]));
  return 0;
}

// ---- apply and diff ----

interface PlannedResource {
  info: KindInfo;
  loaded: LoadedResource;
  current: Resource | undefined;
  /** diff: the unified diff from the server's desired state to the file's; empty when equal. */
  diff: string;
}

async function planApply(api: ApiClient, file: string): Promise<PlannedResource[]> {
  const loaded = await loadManifestFile(resolve(file), { displayName: file });
  if (loaded.missing) throw new Error(`${file}: no such file`);
  if (loaded.errors.length) throw new Error(`${file} is not valid:\n${loaded.errors.map((e) => `  ${e.message}`).join('\n')}`);
  if (loaded.resources.length === 0) throw new Error(`${file} declares no resources`);
  return Promise.all(
    loaded.resources.map(async (r) => {
      const info = resolveKind(r.resource.kind);
      const current = await api.get(info, r.resource.metadata.name);
      const before = current ? desiredOf(current) : undefined;
      const same = before !== undefined && canonicalJson(before) === canonicalJson(desiredOf(r.resource));
      const path = `${info.plural}/${r.resource.metadata.name}`;
      const diff = same ? '' : createTwoFilesPatch(before ? `a/${path}` : '/dev/null', `b/${path}`, before ? stringifyManifest([before]) : '', stringifyManifest([desiredOf(r.resource)]), 'server', basename(file)).replace(/^=+\n/, '');
      return { info, loaded: r, current, diff };
    }),
  );
}

/** desiredOf is the part of a resource a manifest declares, with empty labels/annotations dropped so they compare equal to absent ones. */
function desiredOf(r: Resource | DesiredResource): DesiredResource {
  const metadata: DesiredResource['metadata'] = { name: r.metadata.name };
  if (r.metadata.labels && Object.keys(r.metadata.labels).length) metadata.labels = r.metadata.labels;
  if (r.metadata.annotations && Object.keys(r.metadata.annotations).length) metadata.annotations = r.metadata.annotations;
  return { apiVersion: r.apiVersion, kind: r.kind, metadata, spec: r.spec ?? {} };
}

/** colorDiff colors a unified diff for a terminal the way git does. */
export function colorDiff(diff: string, color: boolean): string {
  if (!color) return diff;
  return diff
    .split('\n')
    .map((l) => {
      if (l.startsWith('+++') || l.startsWith('---')) return `\u001b[1m${l}\u001b[0m`;
      if (l.startsWith('+')) return `\u001b[32m${l}\u001b[0m`;
      if (l.startsWith('-')) return `\u001b[31m${l}\u001b[0m`;
      if (l.startsWith('@@')) return `\u001b[36m${l}\u001b[0m`;
      return l;
    })
    .join('\n');
}

// ---- tables ----

/** table renders rows with columns separated by three spaces, as kubectl does. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd()).join('\n') + '\n';
}

/** age renders a duration the way kubectl's AGE column does: 45s, 3m20s, 5h, 3d4h, 400d. */
export function age(from: string | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const s = Math.floor((now.getTime() - Date.parse(from)) / 1000);
  if (!Number.isFinite(s)) return '<unknown>';
  return duration(Math.max(0, s));
}

function duration(s: number): string {
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (d < 2) return `${h}h`;
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

function condition(r: Resource, type: string): Condition | undefined {
  return r.status?.conditions?.find((c) => c.type === type);
}

function statusWord(r: Resource): string {
  if ((r.spec as { suspend?: boolean }).suspend) return 'Suspended';
  const stalled = condition(r, 'Stalled');
  if (stalled?.status === 'True') return stalled.reason;
  const ready = condition(r, 'Ready');
  if (ready) return ready.reason;
  return r.status?.observedGeneration === undefined ? 'Pending' : '-';
}

type Getter = (r: Resource) => unknown;
const s = (r: Resource): Record<string, any> => (r.spec ?? {}) as Record<string, any>;
const st = (r: Resource): Record<string, any> => (r.status ?? {}) as Record<string, any>;

const WIDE: Partial<Record<string, [string, Getter][]>> = {
  Container: [
    ['IMAGE', (r) => s(r).image],
    ['STATE', (r) => st(r).state],
    ['HEALTH', (r) => st(r).health],
    ['RESTARTS', (r) => st(r).restartCount],
    ['CONTAINER-ID', (r) => (typeof st(r).containerID === 'string' ? st(r).containerID.slice(0, 12) : undefined)],
  ],
  Image: [
    ['REFERENCE', (r) => s(r).reference],
    ['ID', (r) => (typeof st(r).id === 'string' ? st(r).id.replace(/^sha256:/, '').slice(0, 12) : undefined)],
    ['SIZE', (r) => (typeof st(r).size === 'number' ? `${(st(r).size / 1e6).toFixed(1)}MB` : undefined)],
  ],
  Package: [
    ['PACKAGE', (r) => s(r).name],
    ['WANTED', (r) => s(r).version ?? s(r).state],
    ['INSTALLED', (r) => st(r).installedVersion],
    ['CANDIDATE', (r) => st(r).candidateVersion],
  ],
  HealthProbe: [
    ['TYPE', (r) => ['http', 'tcp', 'dns', 'tls', 'exec', 'container'].find((k) => s(r)[k] !== undefined)],
    ['SUCCESS', (r) => st(r).success],
    ['LATENCY', (r) => (typeof st(r).latencySeconds === 'number' ? `${Math.round(st(r).latencySeconds * 1000)}ms` : undefined)],
    ['FAILURES', (r) => st(r).consecutiveFailures],
  ],
  OutputPreference: [['FORMAT', (r) => s(r).format]],
  AccessToken: [
    ['AGENT', (r) => s(r).agent],
    ['SCOPES', (r) => (Array.isArray(s(r).scopes) ? s(r).scopes.join(',') : undefined)],
    ['EXPIRES', (r) => s(r).expiresAt],
    ['REVOKED', (r) => s(r).revoked ?? false],
  ],
  Host: [
    ['OS', (r) => {
      const { distro, release } = (st(r).os ?? {}) as { distro?: string; release?: string };
      return distro && release && !distro.includes(release) ? `${distro} ${release}` : (distro ?? release);
    }],
    ['CPUS', (r) => st(r).cpu?.cores],
    ['MEMORY', (r) => (typeof st(r).memory?.totalBytes === 'number' ? `${(st(r).memory.totalBytes / 2 ** 30).toFixed(1)}Gi` : undefined)],
  ],
};

function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  return String(v);
}

function resourceTable(info: KindInfo, items: Resource[], wide: boolean, now: Date): string {
  const extra = wide ? (WIDE[info.kind] ?? []) : [];
  const rows = [['NAME', 'READY', 'STATUS', 'AGE', ...extra.map(([h]) => h)]];
  for (const r of items) {
    rows.push([r.metadata.name, condition(r, 'Ready')?.status ?? '-', statusWord(r), age(r.metadata.creationTimestamp, now), ...extra.map(([, get]) => cell(get(r)))]);
  }
  return table(rows);
}

function proposer(p: Resource): string {
  const by = s(p).proposedBy as { agent?: string; tailscaleLogin?: string } | undefined;
  return by?.tailscaleLogin ?? by?.agent ?? '-';
}

function expires(p: Resource, now: Date): string {
  const at = s(p).expiresAt as string | undefined;
  if (!at || (st(p).phase ?? 'Pending') !== 'Pending') return '-';
  const left = Math.floor((Date.parse(at) - now.getTime()) / 1000);
  return left <= 0 ? 'expired' : `in ${duration(left)}`;
}

function oneLine(text: unknown, max: number): string {
  const t = String(text ?? '').replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t || '-';
}

function proposalTable(items: Resource[], now: Date): string {
  const rows = [['ID', 'PHASE', 'RISK', 'PROPOSER', 'AGE', 'EXPIRES', 'REASON']];
  for (const p of items) rows.push([p.metadata.name, cell(st(p).phase), cell(s(p).risk), proposer(p), age(p.metadata.creationTimestamp, now), expires(p, now), oneLine(s(p).reason, 60)]);
  return table(rows);
}

// ---- describe ----

interface DescriptionBody {
  object: Resource;
  conditions: Condition[];
  events: { type: string; reason: string; message: string; count: number; firstTimestamp: string; lastTimestamp: string }[];
  origin?: { file: string; line: number };
  manifestErrors: { code: string; message: string }[];
}

function pairs(m: Record<string, string> | undefined): string[] {
  const e = Object.entries(m ?? {});
  return e.length ? e.map(([k, v]) => `${k}=${v}`) : ['<none>'];
}

function field(label: string, values: string[]): string {
  const head = `${label}:`.padEnd(14);
  return values.map((v, i) => `${i === 0 ? head : ' '.repeat(14)}${v}`).join('\n') + '\n';
}

function indentYaml(value: unknown): string {
  if (value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)) return '  <none>\n';
  return stringifyManifest([value]).trimEnd().split('\n').map((l) => `  ${l}`).join('\n') + '\n';
}

function renderDescription(d: DescriptionBody, now: Date): string {
  const o = d.object;
  const { conditions: _c, ...statusRest } = (o.status ?? {}) as Record<string, unknown>;
  let out = '';
  out += field('Name', [o.metadata.name]);
  out += field('Kind', [o.kind]);
  out += field('Labels', pairs(o.metadata.labels));
  out += field('Annotations', pairs(o.metadata.annotations));
  out += field('Created', [`${o.metadata.creationTimestamp} (${age(o.metadata.creationTimestamp, now)} ago)`]);
  out += field('Generation', [String(o.metadata.generation)]);
  out += field('Origin', [d.origin ? `${d.origin.file}:${d.origin.line}` : '<server>']);
  out += `Spec:\n${indentYaml(o.spec)}`;
  out += `Status:\n${indentYaml(statusRest)}`;
  out += 'Conditions:\n';
  out += d.conditions.length
    ? indent(table([['Type', 'Status', 'Reason', 'Age', 'Message'], ...d.conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), oneLine(c.message, 100)])]))
    : '  <none>\n';
  out += 'Events:\n';
  out += d.events.length
    ? indent(table([['Type', 'Reason', 'Age', 'From', 'Message'], ...d.events.map((e) => [e.type, e.reason, e.count > 1 ? `${age(e.lastTimestamp, now)} (x${e.count} over ${age(e.firstTimestamp, now)})` : age(e.lastTimestamp, now), 'systemmanager', oneLine(e.message, 100)])]))
    : '  <none>\n';
  out += 'Manifest errors:\n';
  out += d.manifestErrors.length ? d.manifestErrors.map((e) => `  ${e.code}: ${e.message}\n`).join('') : '  <none>\n';
  return out;
}

function indent(text: string): string {
  return text.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
}

function renderProposal(p: Resource, now: Date, color: boolean): string {
  const status = st(p);
  let out = '';
  out += field('Proposal', [p.metadata.name]);
  out += field('Phase', [cell(status.phase)]);
  out += field('Risk', [cell(s(p).risk)]);
  out += field('Proposed by', [proposer(p)]);
  out += field('Created', [`${p.metadata.creationTimestamp} (${age(p.metadata.creationTimestamp, now)} ago)`]);
  out += field('Expires', [s(p).expiresAt ? `${s(p).expiresAt} (${expires(p, now)})` : '-']);
  out += field('Reason', [oneLine(s(p).reason, 4096)]);
  const changes = (s(p).changes ?? []) as { operation: string; kind: string; name: string }[];
  out += field('Changes', changes.length ? changes.map((c) => `${c.operation} ${c.kind}/${c.name}`) : ['<none>']);
  for (const a of (status.approvals ?? []) as { by: { agent?: string; tailscaleLogin?: string }; at: string; comment?: string }[]) {
    out += field('Approved by', [`${a.by.tailscaleLogin ?? a.by.agent ?? '?'} at ${a.at}${a.comment ? `: ${a.comment}` : ''}`]);
  }
  if (status.rejectedBy) out += field('Rejected by', [`${status.rejectedBy.tailscaleLogin ?? status.rejectedBy.agent}`]);
  if (status.commit) out += field('Commit', [status.commit]);
  if (status.message) out += field('Message', [oneLine(status.message, 4096)]);
  const diff = typeof status.diff === 'string' ? status.diff : '';
  out += `\n${colorDiff(diff.endsWith('\n') || diff === '' ? diff : `${diff}\n`, color)}`;
  return out;
}
