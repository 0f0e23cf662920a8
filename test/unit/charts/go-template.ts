// A tiny renderer for the subset of Helm's Go templating the chart uses, so tests can parse every
// rendered template as YAML without a helm binary. It knows: `{{ .Values.a.b }}`, `.Release.*`,
// `.Chart.*`, `.Files.Get "path"`, `include "name" .`, `define`, `if`/`else`/`end` with `not`,
// `toYaml`, `quote`, `nindent N`, raw strings in backticks, `{{/* comments */}}` and the `{{-`/`-}}`
// whitespace trimming. Anything else throws, so the chart cannot silently outgrow what is tested.
// What it does not check: Helm's own functions beyond these, Kubernetes schemas, or `helm lint`.

import { stringify } from 'yaml';

/** RenderContext is the `.` of a template. */
export interface RenderContext {
  Values: Record<string, unknown>;
  Release: { Name: string; Namespace: string };
  Chart: { Name: string; Version: string; AppVersion: string };
  Files: Record<string, string>;
}

type Node = { t: 'text'; s: string } | { t: 'act'; e: string } | { t: 'if'; cond: string; then: Node[]; else: Node[] };

interface Token {
  kind: 'text' | 'act';
  s: string;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ kind: 'text', s: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let j = open + 2;
    if (src[j] === '-' && src[j + 1] === ' ') {
      text = text.replace(/\s+$/, '');
      j += 1;
    }
    out.push({ kind: 'text', s: text });
    // A raw string may contain `}}`: skip backtick sections when looking for the close.
    let k = j;
    let inRaw = false;
    for (; k < src.length; k++) {
      if (src[k] === '`') inRaw = !inRaw;
      if (!inRaw && src.startsWith('}}', k)) break;
    }
    if (k >= src.length) throw new Error('unclosed {{');
    let body = src.slice(j, k);
    i = k + 2;
    if (body.endsWith(' -')) {
      body = body.slice(0, -2);
      const m = /^\s*/.exec(src.slice(i))!;
      i += m[0].length;
    }
    out.push({ kind: 'act', s: body.trim() });
  }
  return out;
}

function parse(tokens: Token[], defines: Map<string, Node[]>): Node[] {
  let pos = 0;
  const block = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tk = tokens[pos++]!;
      if (tk.kind === 'text') {
        if (tk.s) nodes.push({ t: 'text', s: tk.s });
        continue;
      }
      const e = tk.s;
      if (e.startsWith('/*')) continue;
      if (stopAt.includes(e)) return { nodes, stop: e };
      const def = /^define "([^"]+)"$/.exec(e);
      if (def) {
        defines.set(def[1]!, block(['end']).nodes);
        continue;
      }
      const cond = /^if (.+)$/.exec(e);
      if (cond) {
        const then = block(['else', 'end']);
        const otherwise = then.stop === 'else' ? block(['end']).nodes : [];
        nodes.push({ t: 'if', cond: cond[1]!, then: then.nodes, else: otherwise });
        continue;
      }
      if (/^(range|with|else|end)\b/.test(e)) throw new Error(`unsupported or unbalanced action {{ ${e} }}`);
      nodes.push({ t: 'act', e });
    }
    if (stopAt.length) throw new Error(`missing {{ ${stopAt.join(' / ')} }}`);
    return { nodes, stop: '' };
  };
  return block([]).nodes;
}

function lookup(ctx: RenderContext, path: string): unknown {
  let v: unknown = ctx;
  for (const part of path.slice(1).split('.')) {
    if (part === '') continue;
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  }
  return v;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function toYaml(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  return stringify(v, { lineWidth: 0 }).replace(/\n$/, '');
}

function nindent(s: string, n: number): string {
  const pad = ' '.repeat(n);
  return `\n${String(s).split('\n').map((l) => (l ? pad + l : l)).join('\n')}`;
}

/** Renderer renders chart templates with shared `define`s. */
export class Renderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly ctx: RenderContext;

  constructor(ctx: RenderContext, helpers: string[]) {
    this.ctx = ctx;
    for (const h of helpers) parse(tokenize(h), this.defines);
  }

  /** render renders one template file. */
  render(src: string): string {
    return this.run(parse(tokenize(src), this.defines));
  }

  private run(nodes: Node[]): string {
    let out = '';
    for (const n of nodes) {
      if (n.t === 'text') out += n.s;
      else if (n.t === 'if') out += this.run(truthy(this.evalTerm(n.cond)) ? n.then : n.else);
      else {
        const v = this.evalPipeline(n.e);
        out += typeof v === 'string' ? v : v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      }
    }
    return out;
  }

  private evalPipeline(expr: string): unknown {
    const stages = splitPipes(expr);
    let v = this.evalTerm(stages[0]!);
    for (const stage of stages.slice(1)) {
      const [fn, ...args] = stage.split(/\s+/);
      if (fn === 'nindent') v = nindent(String(v ?? ''), Number(args[0]));
      else if (fn === 'quote') v = JSON.stringify(String(v ?? ''));
      else if (fn === 'toYaml') v = toYaml(v);
      else throw new Error(`unsupported pipeline function ${fn}`);
    }
    return v;
  }

  private evalTerm(term: string): unknown {
    const t = term.trim();
    let m: RegExpExecArray | null;
    if ((m = /^`([^`]*)`$/.exec(t))) return m[1];
    if ((m = /^"([^"]*)"$/.exec(t))) return m[1];
    if (/^-?\d+$/.test(t)) return Number(t);
    if ((m = /^not (.+)$/.exec(t))) return !truthy(this.evalTerm(m[1]!));
    if ((m = /^toYaml (.+)$/.exec(t))) return toYaml(this.evalTerm(m[1]!));
    if ((m = /^include "([^"]+)" \.$/.exec(t))) {
      const body = this.defines.get(m[1]!);
      if (!body) throw new Error(`no template named ${m[1]}`);
      return this.run(body);
    }
    if ((m = /^\.Files\.Get "([^"]+)"$/.exec(t))) {
      const f = this.ctx.Files[m[1]!];
      if (f === undefined) throw new Error(`no file ${m[1]} in the chart`);
      return f;
    }
    if (/^\.[A-Za-z][A-Za-z0-9.]*$/.test(t)) return lookup(this.ctx, t);
    throw new Error(`unsupported template expression {{ ${t} }}`);
  }
}

function splitPipes(expr: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (const ch of expr) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === '`') quote = ch;
    else if (ch === '|') {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur.trim());
  return out;
}
