/**
 * pprof's call graph (`-dot`, and `svg`/`web` through graphviz): the graph of core/graph.ts trimmed
 * as pprof's newTrimmedGraph does in visual mode — nodes whose |cum| is below nodeFraction × (flat
 * sum) dropped, then nodes sorted by pprof's entropy score (entry and leaf nodes favoured, simple
 * fall-through nodes penalised) and the first nodeCount (default 80) kept, edges below
 * edgeFraction × (flat sum) dropped, redundant residual edges removed — rendered as DOT text with
 * pprof's labels (flat and cum with percentages of the total, font size by flat), edge weights,
 * inline edges labelled "(inline)" and dashed, residual edges (through dropped nodes) dotted.
 *
 * Not drawn: pprof's tag "nodelets" (numeric label boxes under a node); pprof also counts those
 * against the node count, so on profiles with labels pprof may show fewer nodes.
 */
import { buildEdges, buildGraph, buildNodeTable, groupStacks, printableName, type Edge, type Graph, type NodeInfo } from '../core/graph.js';
import { percentage, scaledLabel } from '../core/units.js';
import type { Prepared, ReportOptions } from './prepare.js';
import { profileLabels, selectOutputUnit } from './top.js';

export interface CallGraphNode {
  id: number;
  name: string;
  /** pprof's multi-line DOT label of the name (escaped, ends with \\n) */
  label: string;
  flat: number;
  cum: number;
}
export interface CallGraphEdge {
  src: number;
  dest: number;
  weight: number;
  inline: boolean;
  residual: boolean;
}
export interface CallGraph {
  /** in pprof's order (entropy), N1 first */
  nodes: CallGraphNode[];
  edges: CallGraphEdge[];
  labels: string[];
  total: number;
  unit: string;
  outputUnit: string;
}

interface Work {
  g: Graph;
  /** edges among kept nodes, keyed src,dest */
  edges: Map<string, Edge>;
  ins: Map<number, Edge[]>;
  outs: Map<number, Edge[]>;
}

function index(edges: Map<string, Edge>): Pick<Work, 'ins' | 'outs'> {
  const ins = new Map<number, Edge[]>();
  const outs = new Map<number, Edge[]>();
  for (const e of edges.values()) {
    (ins.get(e.dest) ?? ins.set(e.dest, []).get(e.dest)!).push(e);
    (outs.get(e.src) ?? outs.set(e.src, []).get(e.src)!).push(e);
  }
  return { ins, outs };
}

function edgeEntropy(edges: Edge[], self: number): number {
  let total = self;
  for (const e of edges) if (e.weight > 0) total += Math.abs(e.weight);
  let score = 0;
  if (total !== 0) {
    for (const e of edges) {
      const frac = Math.abs(e.weight) / total;
      score += -frac * Math.log2(frac);
    }
    if (self > 0) {
      const frac = Math.abs(self) / total;
      score += -frac * Math.log2(frac);
    }
  }
  return score;
}

/** pprof's entropyScore (int64 arithmetic truncates toward zero). */
function entropyScore(w: Work, id: number): number {
  const inE = w.ins.get(id) ?? [];
  const outE = w.outs.get(id) ?? [];
  let score = 0;
  score += inE.length === 0 ? 1 : edgeEntropy(inE, 0);
  score += outE.length === 0 ? 1 : edgeEntropy(outE, w.g.flat[id]!);
  return Math.trunc(score * w.g.cum[id]!) + w.g.flat[id]!;
}

function sprintInfo(i: NodeInfo): string {
  return `{${i.name}  ${i.address} ${i.file} ${i.startLine} ${i.line} ${i.objfile}}`;
}

function entropyOrder(w: Work, names: string[]): number[] {
  const score = new Map<number, number>();
  for (const id of w.g.nodes) score.set(id, entropyScore(w, id));
  return w.g.nodes.slice().sort((l, r) => {
    const a = Math.abs(score.get(l)!);
    const b = Math.abs(score.get(r)!);
    if (a !== b) return b - a;
    if (names[l] !== names[r]) return names[l]! < names[r]! ? -1 : 1;
    const fl = Math.abs(w.g.flat[l]!);
    const fr = Math.abs(w.g.flat[r]!);
    if (fl !== fr) return fr - fl;
    const kl = sprintInfo(w.g.infos[l]!);
    const kr = sprintInfo(w.g.infos[r]!);
    return kl < kr ? -1 : kl > kr ? 1 : 0;
  });
}

function sortEdges(es: Edge[], names: string[]): Edge[] {
  return es.sort((a, b) => {
    if (a.weight !== b.weight) return Math.abs(b.weight) - Math.abs(a.weight);
    const fa = names[a.src]!;
    const fb = names[b.src]!;
    if (fa !== fb) return fa < fb ? -1 : 1;
    const ta = names[a.dest]!;
    const tb = names[b.dest]!;
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  });
}

/** pprof's isRedundantEdge: another path leads from e.src to e.dest. */
function isRedundant(e: Edge, ins: Map<number, Edge[]>): boolean {
  const seen = new Set<number>([e.dest]);
  const queue = [e.dest];
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const ie of ins.get(n) ?? []) {
      if (ie === e || seen.has(ie.src)) continue;
      if (ie.src === e.src) return true;
      seen.add(ie.src);
      queue.push(ie.src);
    }
  }
  return false;
}

export function callGraph(prep: Prepared, o: ReportOptions): CallGraph {
  const gopt = { valueIndex: prep.valueIndex, granularity: prep.granularity, noInlines: o.noInlines, trimPath: o.trimPath, sourcePath: o.sourcePath };
  const p = prep.profile;
  const table = buildNodeTable(p, gopt);
  const names = table.infos.map(printableName);
  const groups = groupStacks(p, gopt.valueIndex);
  const build = (kept?: Uint8Array): Work => {
    const g = buildGraph(p, table, gopt, kept, groups);
    const edges = buildEdges(p, table, gopt, kept, groups);
    return { g, edges, ...index(edges) };
  };
  let w = build();
  let flatSum = 0;
  for (const id of w.g.nodes) flatSum += w.g.flat[id]!;
  const nodeFraction = o.nodeFraction ?? 0.005;
  const edgeFraction = o.edgeFraction ?? 0.001;
  const nodeCutoff = Math.abs(Math.trunc(flatSum * nodeFraction));
  const edgeCutoff = Math.abs(Math.trunc(flatSum * edgeFraction));
  let droppedNodes = 0;
  if (nodeCutoff > 0) {
    const kept = new Uint8Array(table.infos.length);
    let n = 0;
    for (const id of w.g.nodes) if (Math.abs(w.g.cum[id]!) >= nodeCutoff) (kept[id] = 1), n++;
    if (n !== w.g.nodes.length) {
      droppedNodes = w.g.nodes.length - n;
      w = build(kept);
    }
  }
  const origCount = w.g.nodes.length;
  let order = entropyOrder(w, names);
  const nodeCount = o.nodeCount ?? 80;
  // pprof trims edges once before selecting the top nodes and again at the end; it reports what
  // the last pass dropped, which is nothing unless the selection rebuilt the graph
  let countDropped = nodeCount <= 0;
  if (nodeCount > 0 && order.length > nodeCount) {
    const kept = new Uint8Array(table.infos.length);
    for (const id of order.slice(0, nodeCount)) kept[id] = 1;
    w = build(kept);
    order = entropyOrder(w, names);
    countDropped = true;
  }
  // final edge trimming, then redundant residual edges (lightest first), as pprof in visual mode
  let droppedEdges = 0;
  for (const [k, e] of w.edges) {
    if (Math.abs(e.weight) < edgeCutoff) {
      w.edges.delete(k);
      if (countDropped) droppedEdges++;
    }
  }
  let { ins } = index(w.edges);
  for (let i = order.length - 1; i >= 0; i--) {
    const inE = sortEdges((ins.get(order[i]!) ?? []).slice(), names);
    for (let j = inE.length - 1; j >= 0; j--) {
      const e = inE[j]!;
      if (!e.residual) break;
      if (isRedundant(e, ins)) {
        w.edges.delete(`${e.src},${e.dest}`);
        ins = index(w.edges).ins;
      }
    }
  }
  const outputUnit = selectOutputUnit(w.g, order, prep.sampleUnit, o.unit ?? 'minimum', prep.total);
  const fmt = (v: number) => scaledLabel(v, prep.sampleUnit, outputUnit);
  const labels = profileLabels(p, prep, fmt);
  if (prep.activeFilters.length > 0) {
    labels.push('Active filters:');
    for (const f of prep.activeFilters) labels.push('   ' + (f.length > 80 ? f.slice(0, 80) + '…' : f));
  }
  let shown = 0;
  for (const id of order) shown += w.g.flat[id]!;
  labels.push(`Showing nodes accounting for ${fmt(shown)}, ${percentage(shown, prep.total).trim()} of ${fmt(prep.total)} total`);
  if (prep.total !== 0) {
    const plural = (n: number, s: string) => (n > 1 ? s + 's' : s);
    if (droppedNodes > 0) labels.push(`Dropped ${droppedNodes} ${plural(droppedNodes, 'node')} (cum <= ${fmt(Math.abs(Math.trunc(prep.total * nodeFraction)))})`);
    if (droppedEdges > 0) labels.push(`Dropped ${droppedEdges} ${plural(droppedEdges, 'edge')} (freq <= ${fmt(Math.abs(Math.trunc(prep.total * edgeFraction)))})`);
    if (order.length > 0 && order.length < origCount) labels.push(`Showing top ${order.length} nodes out of ${origCount}`);
  }
  const num = new Map<number, number>();
  order.forEach((id, i) => num.set(id, i + 1));
  return {
    nodes: order.map((id) => ({ id: num.get(id)!, name: names[id]!, label: multilineName(w.g.infos[id]!), flat: w.g.flat[id]!, cum: w.g.cum[id]! })),
    edges: sortEdges([...w.edges.values()], names).map((e) => ({ src: num.get(e.src)!, dest: num.get(e.dest)!, weight: e.weight, inline: e.inline, residual: e.residual })),
    labels,
    total: prep.total,
    unit: prep.sampleUnit,
    outputUnit,
  };
}

// ---------------------------------------------------------------------------------------------
// DOT text

function escapeForDot(s: string): string {
  return s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\l');
}

const CPP_ANON = /^\(anonymous namespace\)::/;
const GO_VER = /^(.*?)\/v(?:[2-9]|[1-9][0-9]+)([./].*)$/;
const SHORTEN = [
  /^(?:[\w\-.]+\/)+(.+)/,
  /^(?:[a-z]\w*\.)*([A-Z][\w$]*\.(?:<init>|[a-z][\w$]*(?:\$\d+)?))(?:(?:\()|$)/,
  /^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?)/,
];

/** pprof's ShortenFunctionName. */
export function shortenFunctionName(f: string): string {
  let s = f.replace(CPP_ANON, '').replace(GO_VER, '$1$2');
  for (const re of SHORTEN) {
    const m = re.exec(s);
    if (m && m.length >= 2) return m.slice(1).join('');
  }
  return s;
}

/** pprof's multilinePrintableName: the short name split at '.' and '::', one part per line. */
export function multilineName(i: NodeInfo): string {
  const base = (f: string) => f.replace(/^.*\//, '');
  const parts: string[] = [];
  if (i.address !== 0n) parts.push(i.address.toString(16).padStart(16, '0'));
  if (i.name !== '') parts.push(escapeForDot(shortenFunctionName(i.name)).replaceAll('::', '\\n').replaceAll('[...]', '[…]').replaceAll('.', '\\n'));
  const file = i.file !== '' ? base(i.file) : '';
  if (i.line !== 0) parts.push(`${file}:${i.line}`);
  else if (file !== '') parts.push(file);
  else if (i.name !== '') {
    /* the name says it */
  } else if (i.objfile !== '') parts.push(`[${base(i.objfile)}]`);
  else parts.push('<unknown>');
  return parts.join('\\n') + '\\n';
}

/** pprof's dotColor: grey for small shares, red for a large positive one, green for negative. */
export function dotColor(score: number, background: boolean): string {
  const shift = 0.7;
  let saturation = background ? 0.1 : 1.0;
  const value = background ? 0.93 : 0.7;
  score = Math.max(-1, Math.min(1, score));
  if (Math.abs(score) < 0.2) saturation *= Math.abs(score) / 0.2;
  if (score > 0) score = Math.pow(score, 1 - shift);
  if (score < 0) score = -Math.pow(-score, 1 - shift);
  let r: number;
  let g: number;
  if (score < 0) {
    g = value;
    r = value * (1 + saturation * score);
  } else {
    r = value;
    g = value * (1 - saturation * score);
  }
  const b = value * (1 - saturation);
  const hex = (x: number) => (Math.trunc(x * 255) & 0xff).toString(16).padStart(2, '0');
  return `#${hex(r)}${hex(g)}${hex(b)}`;
}

export function renderDot(cg: CallGraph, infoNames: { title?: string } = {}): string {
  const fmt = (v: number) => scaledLabel(v, cg.unit, cg.outputUnit);
  const pct = (v: number) => percentage(v, cg.total).trim();
  // pprof titles the graph with the main binary's name when the profile has one
  const title = infoNames.title ?? (cg.labels[0]?.startsWith('File: ') ? cg.labels[0].slice(6) : '');
  const out: string[] = [`digraph "${escapeForDot(title || 'unnamed')}" {`, 'node [style=filled fillcolor="#f8f8f8"]'];
  const labels = [...cg.labels, '\nSee https://git.io/JfYMW for how to read the graph'];
  out.push(
    `subgraph cluster_L { "${escapeForDot(labels[0]!)}" [shape=box fontsize=16 label="${labels.map(escapeForDot).join('\\l')}\\l"${title ? ` tooltip="${escapeForDot(title)}"` : ''}] }`,
  );
  let maxFlat = 0;
  for (const n of cg.nodes) maxFlat = Math.max(maxFlat, Math.abs(n.flat));
  const byId = new Map(cg.nodes.map((n) => [n.id, n]));
  const absTotal = Math.abs(cg.total);
  for (const n of cg.nodes) {
    let label = n.label;
    const flatValue = fmt(n.flat);
    label += n.flat !== 0 ? `${flatValue} (${pct(n.flat)})` : '0';
    let cumValue = flatValue;
    if (n.cum !== n.flat) {
      label += n.flat !== 0 ? '\\n' : ' ';
      cumValue = fmt(n.cum);
      label += `of ${cumValue} (${pct(n.cum)})`;
    }
    let fontSize = 8;
    if (maxFlat !== 0 && n.flat !== 0) fontSize += Math.ceil(16 * Math.sqrt(Math.abs(n.flat) / maxFlat));
    const share = absTotal === 0 ? 0 : n.cum / absTotal;
    out.push(
      `N${n.id} [label="${label}" id="node${n.id}" fontsize=${fontSize} shape=box tooltip="${escapeForDot(n.name)} (${cumValue})" color="${dotColor(share, false)}" fillcolor="${dotColor(share, true)}"]`,
    );
  }
  for (const e of cg.edges) {
    const w = fmt(e.weight);
    let attr = `label=" ${w}${e.inline ? '\\n (inline)' : ''}"`;
    if (cg.total !== 0) {
      const weight = 1 + Math.trunc(Math.min(Math.abs(Math.trunc((e.weight * 100) / cg.total)), 100));
      if (weight > 1) attr += ` weight=${weight}`;
      const width = 1 + Math.trunc(Math.min(Math.abs(Math.trunc((e.weight * 5) / cg.total)), 5));
      if (width > 1) attr += ` penwidth=${width}`;
      attr += ` color="${dotColor(e.weight / absTotal, false)}"`;
    }
    const arrow = e.residual ? '...' : '->';
    const tip = `"${escapeForDot(byId.get(e.src)!.name)} ${arrow} ${escapeForDot(byId.get(e.dest)!.name)} (${w})"`;
    attr += ` tooltip=${tip} labeltooltip=${tip}`;
    if (e.residual) attr += ' style="dotted"';
    else if (e.inline) attr += ' style="dashed"';
    out.push(`N${e.src} -> N${e.dest} [${attr}]`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
