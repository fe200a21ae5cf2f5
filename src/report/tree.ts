/**
 * pprof's tree report (`-tree`, and `peek regex` which shows only matching nodes, untrimmed):
 * for each node its callers above and callees below, with edge weights.
 */
import { buildEdges, type Edge } from '../core/graph.js';
import { LeakscopeError } from '../core/errors.js';
import { padLeft, percentage } from '../core/units.js';
import { formatter, type Prepared, type ReportOptions } from './prepare.js';
import { profileLabels, selectOutputUnit, trimmedGraph } from './top.js';

const SEPARATOR = '----------------------------------------------------------+-------------';
const LEGEND = '      flat  flat%   sum%        cum   cum%   calls calls% + context 	 	 ';

export interface TreeNodeJson {
  name: string;
  flat: number;
  cum: number;
  callers: { name: string; weight: number; inline: boolean }[];
  callees: { name: string; weight: number; inline: boolean }[];
}

export function treeReport(prep: Prepared, o: ReportOptions, symbol?: RegExp): { text: string; nodes: TreeNodeJson[] } {
  const opts: ReportOptions = symbol ? { ...o, nodeCount: 0, nodeFraction: 0 } : o;
  const { g, table, order, names, droppedNodes, origCount, nodeFraction, fullFlatSum, shownFlat, shownCum } = trimmedGraph(prep, opts, 80);
  const outputUnit = selectOutputUnit({ ...g, flat: shownFlat, cum: shownCum }, order, prep.sampleUnit, o.unit ?? 'minimum', prep.total, o.divideBy);
  const fmt = formatter(prep, o, outputUnit);
  const gopt = { valueIndex: prep.valueIndex, granularity: prep.granularity, noInlines: o.noInlines, trimPath: o.trimPath, sourcePath: o.sourcePath };
  const shown = new Uint8Array(table.infos.length);
  for (const id of order) shown[id] = 1;
  // pprof rebuilds the graph from the kept nodes only when trimming dropped some; otherwise the
  // edges to nodes that net to zero (absent from the graph) stay, and print as "0     0% |   name"
  const nodeCount = opts.nodeCount ?? 80;
  const rebuilt = droppedNodes > 0 || (nodeCount > 0 && origCount > nodeCount);
  const kept = rebuilt ? shown : undefined;
  let flatTotal = 0;
  for (const id of order) flatTotal += shownFlat[id]!;
  // pprof's edge cutoff comes from the flat sum of the complete (untrimmed) graph
  const edgeCutoff = symbol ? 0 : Math.abs(Math.trunc(fullFlatSum * (o.edgeFraction ?? 0.001)));
  const ins = new Map<number, Edge[]>();
  const outs = new Map<number, Edge[]>();
  for (const e of buildEdges(prep.profile, table, gopt, kept).values()) {
    // pprof trims low edges from the in-edges of the graph's nodes only: an edge into a node that
    // nets to zero is never trimmed
    if (edgeCutoff > 0 && Math.abs(e.weight) < edgeCutoff && shown[e.dest]) continue;
    (ins.get(e.dest) ?? ins.set(e.dest, []).get(e.dest)!).push(e);
    (outs.get(e.src) ?? outs.set(e.src, []).get(e.src)!).push(e);
  }
  const sortEdges = (es: Edge[]) =>
    es.sort((a, b) => {
      // pprof orders equal magnitudes of opposite sign as its map iteration falls (run to run);
      // here they fall to the name order, then the increase first
      if (Math.abs(a.weight) !== Math.abs(b.weight)) return Math.abs(b.weight) - Math.abs(a.weight);
      const fa = names[a.src]!;
      const fb = names[b.src]!;
      if (fa !== fb) return fa < fb ? -1 : 1;
      const ta = names[a.dest]!;
      const tb = names[b.dest]!;
      if (ta !== tb) return ta < tb ? -1 : 1;
      return b.weight - a.weight;
    });

  const lines: string[] = o.compactLabels ? [] : [...profileLabels(prep.profile, prep, fmt)];
  if (prep.activeFilters.length > 0) {
    lines.push('Active filters:');
    for (const f of prep.activeFilters) lines.push('   ' + (f.length > 80 ? f.slice(0, 80) + '…' : f));
  }
  lines.push(`Showing nodes accounting for ${fmt(flatTotal)}, ${percentage(flatTotal, prep.total).trim()} of ${fmt(prep.total)} total`);
  if (prep.total !== 0) {
    if (droppedNodes > 0) lines.push(`Dropped ${droppedNodes} node${droppedNodes === 1 ? '' : 's'} (cum <= ${fmt(Math.abs(Math.trunc(prep.total * nodeFraction)))})`);
    if (order.length > 0 && order.length < origCount) lines.push(`Showing top ${order.length} nodes out of ${origCount}`);
  }
  lines.push(SEPARATOR, LEGEND);
  const nodes: TreeNodeJson[] = [];
  let flatSum = 0;
  let matched = 0;
  for (const id of order) {
    const name = names[id]!;
    // node values are -mean's means; edge weights stay sums, as pprof prints them
    const flat = shownFlat[id]!;
    const cum = shownCum[id]!;
    if (symbol && !symbol.test(name)) continue;
    matched++;
    lines.push(SEPARATOR);
    const inE = sortEdges(ins.get(id) ?? []);
    const outE = sortEdges(outs.get(id) ?? []);
    for (const e of inE) lines.push(`${padLeft(fmt(e.weight), 50)} ${percentage(e.weight, cum)} |   ${names[e.src]}${e.inline ? ' (inline)' : ''}`);
    flatSum += flat;
    lines.push(
      `${padLeft(fmt(flat), 10)} ${percentage(flat, prep.total)} ${percentage(flatSum, prep.total)} ${padLeft(fmt(cum), 10)} ${percentage(cum, prep.total)}                | ${name}`,
    );
    for (const e of outE) lines.push(`${padLeft(fmt(e.weight), 50)} ${percentage(e.weight, cum)} |   ${names[e.dest]}${e.inline ? ' (inline)' : ''}`);
    nodes.push({
      name,
      flat,
      cum,
      callers: inE.map((e) => ({ name: names[e.src]!, weight: e.weight, inline: e.inline })),
      callees: outE.map((e) => ({ name: names[e.dest]!, weight: e.weight, inline: e.inline })),
    });
  }
  if (order.length > 0) lines.push(SEPARATOR);
  if (symbol && matched === 0) throw new LeakscopeError('E_NO_DATA', `no matches found for regexp: ${symbol.source}`);
  return { text: lines.join('\n') + '\n', nodes };
}
