/**
 * The `top` report: pprof's text report (report.TextItems / printText), as rows and as text.
 * Trimming follows newTrimmedGraph: drop nodes whose |cum| is below nodeFraction × (flat sum),
 * then keep the first nodeCount nodes in sort order; each step rebuilds the graph from samples.
 */
import {
  buildGraph,
  groupStacks,
  inlineLabels,
  buildNodeTable,
  printableName,
  sortNodes,
  type Graph,
  type NodeInfo,
} from '../core/graph.js';
import type { Profile } from '../core/profile.js';
import { padLeft, percentage, scaledLabel, scaleValue } from '../core/units.js';
import { formatter, type Prepared, type ReportOptions } from './prepare.js';

export interface TopRow {
  name: string;
  file?: string;
  line?: number;
  inline: boolean;
  /** pprof's " (inline)" / " (partial-inline)" marker, '' when none */
  inlineLabel: '' | 'inline' | 'partial-inline';
  flat: number;
  cum: number;
  printable: string;
}

export interface TopReport {
  sampleType: string;
  unit: string;
  total: number;
  rows: TopRow[];
  /** header lines as pprof prints them (File:, Type:, …, Showing nodes …) */
  labels: string[];
  /** the unit chosen for text output */
  outputUnit: string;
  droppedNodes: number;
  origCount: number;
  /** -divide_by: printed values are divided by this (rows keep the profile's values) */
  divideBy?: number;
}

export function trimmedGraph(prep: Prepared, o: ReportOptions, defaultNodeCount: number) {
  const gopt = {
    valueIndex: prep.valueIndex,
    granularity: prep.granularity,
    noInlines: o.noInlines,
    trimPath: o.trimPath,
    sourcePath: o.sourcePath,
  };
  const p = prep.profile;
  const table = buildNodeTable(p, gopt);
  const names = table.infos.map(printableName);
  const groups = groupStacks(p, gopt.valueIndex);
  let g = buildGraph(p, table, gopt, undefined, groups);
  let flatSum = 0;
  for (const id of g.nodes) flatSum += g.flat[id]!;
  const nodeFraction = o.nodeFraction ?? 0.005;
  const nodeCutoff = Math.abs(Math.trunc(flatSum * nodeFraction));
  let droppedNodes = 0;
  // the kept set of the last rebuild (undefined: the graph of all nodes)
  let lastKept: Uint8Array | undefined;
  if (nodeCutoff > 0) {
    const kept = new Uint8Array(table.infos.length);
    let keptCount = 0;
    for (const id of g.nodes) {
      if (Math.abs(g.cum[id]!) >= nodeCutoff) {
        kept[id] = 1;
        keptCount++;
      }
    }
    if (keptCount !== g.nodes.length) {
      droppedNodes = g.nodes.length - keptCount;
      g = buildGraph(p, table, gopt, kept, groups);
      lastKept = kept;
    }
  }
  const origCount = g.nodes.length;
  let order = sortNodes(g, Boolean(o.cum), names);
  const nodeCount = o.nodeCount ?? defaultNodeCount;
  if (nodeCount > 0 && order.length > nodeCount) {
    const kept = new Uint8Array(table.infos.length);
    for (const id of order.slice(0, nodeCount)) kept[id] = 1;
    g = buildGraph(p, table, gopt, kept, groups);
    lastKept = kept;
    order = sortNodes(g, Boolean(o.cum), names);
  }
  // pprof trims edges below edgeFraction × (flat sum of the complete graph) before it reads the
  // inline flags off the remaining in-edges
  const edgeCutoff = Math.abs(Math.trunc(flatSum * (o.edgeFraction ?? 0.001)));
  g.inline = inlineLabels(table.infos.length, g.inEdges, edgeCutoff);
  // -mean / -mean_delay: pprof trims and sorts on the sums, and shows each node's sum divided by
  // the sum of its samples' first values (Node.FlatValue / CumValue, Go's integer division)
  let shownFlat = g.flat;
  let shownCum = g.cum;
  if (prep.meanDivisorIndex !== undefined) {
    const dg = buildGraph(p, table, { ...gopt, valueIndex: prep.meanDivisorIndex }, lastKept, groupStacks(p, prep.meanDivisorIndex));
    shownFlat = g.flat.map((v, i) => (dg.flat[i] !== 0 ? Math.trunc(v / dg.flat[i]!) : v));
    shownCum = g.cum.map((v, i) => (dg.cum[i] !== 0 ? Math.trunc(v / dg.cum[i]!) : v));
  }
  return { g, table, order, names, droppedNodes, origCount, nodeFraction, fullFlatSum: flatSum, shownFlat, shownCum };
}

/**
 * pprof's selectOutputUnit for unit=minimum (as in Go 1.19's pprof): the unit of the smallest
 * non-zero node value, or of 100× it when the total needs a larger unit.
 */
export function selectOutputUnit(g: Graph, ids: number[], sampleUnit: string, unitOpt: string, total: number, divideBy?: number): string {
  if (unitOpt !== 'minimum' || ids.length === 0) return unitOpt;
  let minValue = 0;
  for (const id of ids) {
    let nodeMin = Math.abs(g.flat[id]!);
    if (nodeMin === 0) nodeMin = Math.abs(g.cum[id]!);
    if (nodeMin > 0 && (minValue === 0 || nodeMin < minValue)) minValue = nodeMin;
  }
  let maxValue = total;
  if (minValue === 0) minValue = maxValue;
  // -divide_by: the unit is chosen for the divided values
  if (divideBy !== undefined && 1 / divideBy > 0 && divideBy !== 1) {
    minValue = Math.trunc(minValue * (1 / divideBy));
    maxValue = Math.trunc(maxValue * (1 / divideBy));
  }
  const [, minUnit] = scaleValue(minValue, sampleUnit, 'minimum');
  const [, maxUnit] = scaleValue(maxValue, sampleUnit, 'minimum');
  let unit = minUnit;
  if (minUnit !== maxUnit && minValue * 100 < maxValue) {
    [, unit] = scaleValue(100 * minValue, sampleUnit, 'minimum');
  }
  return unit !== '' ? unit : sampleUnit;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time layout "Jan 2, 2006 at 3:04pm (MST)" in UTC (leakscope prints times in UTC). */
export function formatProfileTime(timeNanos: bigint): string {
  const d = new Date(Number(timeNanos / 1000000n));
  const h = d.getUTCHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const ampm = h < 12 ? 'am' : 'pm';
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} at ${h12}:${mm}${ampm} (UTC)`;
}

function baseName(p: string): string {
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}

/** pprof's ProfileLabels: File, Build ID, comments, Type, Time, Duration. */
export function profileLabels(p: Profile, prep: Prepared, fmt: (v: number) => string): string[] {
  const label: string[] = [];
  if (p.mappings.length > 0) {
    const m = p.mappings[0]!;
    if (m.file !== '') label.push('File: ' + baseName(m.file));
    if (m.buildId !== '') label.push('Build ID: ' + m.buildId);
  }
  for (const c of p.comments) if (!c.startsWith('#')) label.push(c);
  label.push('Type: ' + prep.sampleType);
  if (p.docUrl) label.push('Doc: ' + p.docUrl);
  if (p.timeNanos !== 0n) label.push('Time: ' + formatProfileTime(p.timeNanos));
  if (p.durationNanos !== 0n) {
    const dur = Number(p.durationNanos);
    const duration = scaledLabel(dur, 'nanoseconds', 'auto');
    const [totalNanos, totalUnit] = scaleValue(prep.total, prep.sampleUnit, 'nanoseconds');
    let ratio = '';
    if (totalUnit === 'ns' && totalNanos !== 0) ratio = '(' + percentage(Math.trunc(totalNanos), dur) + ')';
    label.push(`Duration: ${duration}, Total samples = ${fmt(prep.total)} ${ratio}`);
  }
  return label;
}

export function topReport(prep: Prepared, o: ReportOptions, defaultNodeCount = 0): TopReport {
  const { g, order, names, droppedNodes, origCount, nodeFraction, shownFlat, shownCum } = trimmedGraph(prep, o, defaultNodeCount);
  const outputUnit = selectOutputUnit({ ...g, flat: shownFlat, cum: shownCum }, order, prep.sampleUnit, o.unit ?? 'minimum', prep.total, o.divideBy);
  const fmt = formatter(prep, o, outputUnit);
  const rows: TopRow[] = order.map((id) => {
    const info: NodeInfo = g.infos[id]!;
    const inl = g.inline[id]!;
    const row: TopRow = {
      name: info.name !== '' ? info.name : names[id]!,
      inline: inl !== 0,
      inlineLabel: inl === 1 ? 'inline' : inl === 2 ? 'partial-inline' : '',
      flat: shownFlat[id]!,
      cum: shownCum[id]!,
      printable: names[id]!,
    };
    if (prep.granularity !== 'functions' && info.file !== '') row.file = info.file;
    if (info.line !== 0) row.line = info.line;
    return row;
  });
  let flatSum = 0;
  for (const r of rows) flatSum += r.flat;
  const labels = o.compactLabels ? [] : profileLabels(prep.profile, prep, fmt);
  if (prep.activeFilters.length > 0) {
    labels.push('Active filters:');
    for (const f of prep.activeFilters) labels.push('   ' + (f.length > 80 ? f.slice(0, 80) + '…' : f));
  }
  labels.push(`Showing nodes accounting for ${fmt(flatSum)}, ${percentage(flatSum, prep.total).trim()} of ${fmt(prep.total)} total`);
  if (prep.total !== 0) {
    if (droppedNodes > 0) {
      labels.push(`Dropped ${droppedNodes} node${droppedNodes === 1 ? '' : 's'} (cum <= ${fmt(Math.abs(Math.trunc(prep.total * nodeFraction)))})`);
    }
    if (rows.length > 0 && rows.length < origCount) labels.push(`Showing top ${rows.length} nodes out of ${origCount}`);
  }
  const report: TopReport = { sampleType: prep.sampleType, unit: prep.sampleUnit, total: prep.total, rows, labels, outputUnit, droppedNodes, origCount };
  if (o.divideBy !== undefined && o.divideBy !== 1) report.divideBy = o.divideBy;
  return report;
}

export function renderTopText(r: TopReport): string {
  const ratio = r.divideBy !== undefined ? 1 / r.divideBy : 1;
  const fmt = ratio > 0 && ratio !== 1 ? (v: number) => scaledLabel(Math.trunc(v * ratio), r.unit, r.outputUnit) : (v: number) => scaledLabel(v, r.unit, r.outputUnit);
  const out: string[] = [...r.labels];
  out.push(`${padLeft('flat', 10)} ${padLeft('flat', 5)}% ${padLeft('sum', 5)}% ${padLeft('cum', 10)} ${padLeft('cum', 5)}%`);
  let sum = 0;
  for (const row of r.rows) {
    sum += row.flat;
    const inl = row.inlineLabel ? ` (${row.inlineLabel})` : '';
    out.push(
      `${padLeft(fmt(row.flat), 10)} ${percentage(row.flat, r.total)} ${percentage(sum, r.total)} ${padLeft(fmt(row.cum), 10)} ${percentage(row.cum, r.total)}  ${row.printable}${inl}`,
    );
  }
  return out.join('\n') + '\n';
}

/** The `--json` contract: {sampleType, unit, total, rows:[{name, file?, line?, inline, flat, cum}]} */
export function renderTopJson(r: TopReport): string {
  return (
    JSON.stringify(
      {
        sampleType: r.sampleType,
        unit: r.unit,
        total: r.total,
        rows: r.rows.map((row) => {
          const o: Record<string, unknown> = { name: row.name };
          if (row.file !== undefined) o.file = row.file;
          if (row.line !== undefined) o.line = row.line;
          o.inline = row.inline;
          o.flat = row.flat;
          o.cum = row.cum;
          return o;
        }),
      },
      null,
      2,
    ) + '\n'
  );
}
