/**
 * The `list` report: flat and cum per source line for functions matching a regex, with the source
 * text when the file can be read (the caller supplies a reader; this module does no I/O).
 */
import { buildGraph, buildNodeTable, type NodeInfo } from '../core/graph.js';
import { LeakscopeError } from '../core/errors.js';
import { padLeft, percentage, scaledLabel } from '../core/units.js';
import type { Prepared, ReportOptions } from './prepare.js';
import { selectOutputUnit } from './top.js';

export type SourceReader = (file: string) => string[] | undefined;

export interface ListFunction {
  name: string;
  file: string;
  flat: number;
  cum: number;
  lines: { line: number; flat: number; cum: number; text?: string }[];
  sourceFound: boolean;
}

const MARGIN = 5;

export function listReport(prep: Prepared, o: ReportOptions, symbol: RegExp, readSource: SourceReader): { text: string; functions: ListFunction[] } {
  const gopt = { valueIndex: prep.valueIndex, granularity: 'lines' as const, noInlines: o.noInlines, trimPath: o.trimPath, sourcePath: o.sourcePath };
  const table = buildNodeTable(prep.profile, gopt);
  const g = buildGraph(prep.profile, table, gopt);
  const outputUnit = selectOutputUnit(g, g.nodes, prep.sampleUnit, o.unit ?? 'minimum', prep.total);
  const fmt = (v: number) => scaledLabel(v, prep.sampleUnit, outputUnit);
  const dot = (v: number) => (v === 0 ? '.' : fmt(v));
  // group line nodes by (function, file)
  const groups = new Map<string, { name: string; file: string; nodes: number[] }>();
  for (const id of g.nodes) {
    const info: NodeInfo = g.infos[id]!;
    if (info.name === '' || !symbol.test(info.name)) continue;
    const key = `${info.name}\u0000${info.file}`;
    let grp = groups.get(key);
    if (!grp) groups.set(key, (grp = { name: info.name, file: info.file, nodes: [] }));
    grp.nodes.push(id);
  }
  if (groups.size === 0) throw new LeakscopeError('E_NO_DATA', `no matches found for regexp: ${symbol.source}`);
  const out: string[] = [];
  const functions: ListFunction[] = [];
  const sorted = [...groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.file < b.file ? -1 : 1));
  for (const grp of sorted) {
    const byLine = new Map<number, { flat: number; cum: number }>();
    let flat = 0;
    let cum = 0;
    for (const id of grp.nodes) {
      const ln = g.infos[id]!.line;
      const e = byLine.get(ln) ?? { flat: 0, cum: 0 };
      e.flat += g.flat[id]!;
      e.cum += g.cum[id]!;
      byLine.set(ln, e);
      flat += g.flat[id]!;
      cum += g.cum[id]!;
    }
    const src = grp.file ? readSource(grp.file) : undefined;
    out.push(`ROUTINE ======================== ${grp.name} in ${grp.file}`);
    out.push(`${padLeft(dot(flat), 10)} ${padLeft(dot(cum), 10)} (flat, cum) ${percentage(cum, prep.total)} of Total`);
    const lineNos = [...byLine.keys()].sort((a, b) => a - b);
    const fn: ListFunction = { name: grp.name, file: grp.file, flat, cum, lines: [], sourceFound: Boolean(src) };
    if (src) {
      const start = Math.max(1, lineNos[0]! - MARGIN);
      const end = Math.min(src.length, lineNos[lineNos.length - 1]! + MARGIN);
      for (let ln = start; ln <= end; ln++) {
        const e = byLine.get(ln) ?? { flat: 0, cum: 0 };
        const text = src[ln - 1] ?? '';
        out.push(` ${padLeft(dot(e.flat), 10)} ${padLeft(dot(e.cum), 10)} ${padLeft(String(ln), 6)}:${text}`);
        fn.lines.push({ line: ln, flat: e.flat, cum: e.cum, text });
      }
    } else {
      out.push(` Error: could not find file ${grp.file}${o.sourcePath ? ` on path ${o.sourcePath}` : ''} (use --source-path)`);
      for (const ln of lineNos) {
        const e = byLine.get(ln)!;
        out.push(` ${padLeft(dot(e.flat), 10)} ${padLeft(dot(e.cum), 10)} ${padLeft(String(ln), 6)}:`);
        fn.lines.push({ line: ln, flat: e.flat, cum: e.cum });
      }
    }
    functions.push(fn);
  }
  return { text: out.join('\n') + '\n', functions };
}
