/**
 * The `list` report as pprof prints it (report.printSource): a `Total:` line, then for every
 * function matching a regex (by name) and each of its source files, a ROUTINE header and the
 * file's lines around the sampled ones with flat and cum per line. Values are scaled each on its
 * own (pprof's list does not pick one unit for the report). The caller supplies the source
 * reader (this module does no I/O); a file it cannot find prints pprof's `Error:` line and no rows.
 */
import { buildGraph, buildNodeTable, cleanPath, trimFilePath } from '../core/graph.js';
import { LeakscopeError } from '../core/errors.js';
import { padLeft, percentage } from '../core/units.js';
import { formatter, type Prepared, type ReportOptions } from './prepare.js';

/**
 * A file's lines (as Go's bufio.Scanner splits them), `{ error }` with pprof's message when the
 * file cannot be opened, or undefined (not found, no message of the reader's own).
 */
export type SourceReader = (file: string) => string[] | { error: string } | undefined;

export interface ListFunction {
  name: string;
  file: string;
  flat: number;
  cum: number;
  lines: { line: number; flat: number; cum: number; text?: string }[];
  sourceFound: boolean;
  /** why the source is not shown (pprof's "Error: …" text) */
  error?: string;
}

/** lines shown before the first and after the last sampled line (pprof's margin) */
const MARGIN = 5;

export function listReport(prep: Prepared, o: ReportOptions, symbol: RegExp, readSource: SourceReader): { text: string; functions: ListFunction[] } {
  const gopt = { valueIndex: prep.valueIndex, granularity: 'lines' as const, noInlines: o.noInlines, trimPath: o.trimPath, sourcePath: o.sourcePath };
  const table = buildNodeTable(prep.profile, gopt);
  const g = buildGraph(prep.profile, table, gopt);
  // pprof's list formats every value with the requested unit ('minimum': each value on its own)
  const fmt = formatter(prep, o, o.unit ?? 'minimum');
  const dot = (v: number) => (v === 0 ? '.' : fmt(v));
  // the function's start line, as pprof keeps it in a list node
  const startLines = new Map<string, number>();
  for (const fn of prep.profile.functions) {
    const file = fn.filename === '' ? '' : cleanPath(trimFilePath(fn.filename, o.trimPath, o.sourcePath));
    const key = `${fn.name}\u0000${file}`;
    if (!startLines.has(key)) startLines.set(key, fn.startLine);
  }
  // group line nodes by function name, then by file (nodes without a file are set apart)
  const byName = new Map<string, Map<string, number[]>>();
  const noFile = new Map<string, number[]>();
  for (const id of g.nodes) {
    const info = g.infos[id]!;
    if (!symbol.test(info.name)) continue;
    let files = byName.get(info.name);
    if (!files) byName.set(info.name, (files = new Map()));
    if (info.file === '') {
      const ids = noFile.get(info.name);
      if (ids) ids.push(id);
      else noFile.set(info.name, [id]);
      continue;
    }
    const ids = files.get(info.file);
    if (ids) ids.push(id);
    else files.set(info.file, [id]);
  }
  if (byName.size === 0) throw new LeakscopeError('E_NO_DATA', `no matches found for regexp: ${symbol.source}`);
  const out: string[] = [`Total: ${fmt(prep.total)}`];
  const functions: ListFunction[] = [];
  // what pprof's per-report reader has looked up so far (undefined → not yet)
  const looked = new Map<string, string[] | { error: string } | null>();
  const byStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  for (const name of [...byName.keys()].sort(byStr)) {
    const files = byName.get(name)!;
    if (files.size === 0) {
      out.push(`No source information for ${name}`);
      // the JSON keeps its numbers (per line when the profile has lines)
      const ids = noFile.get(name) ?? [];
      const byLine = new Map<number, { flat: number; cum: number }>();
      const fn: ListFunction = { name, file: '', flat: 0, cum: 0, lines: [], sourceFound: false, error: `no source information for ${name}` };
      for (const id of ids) {
        const e = byLine.get(g.infos[id]!.line) ?? { flat: 0, cum: 0 };
        e.flat += g.flat[id]!;
        e.cum += g.cum[id]!;
        byLine.set(g.infos[id]!.line, e);
        fn.flat += g.flat[id]!;
        fn.cum += g.cum[id]!;
      }
      fn.lines = [...byLine.keys()].sort((a, b) => a - b).map((line) => ({ line, ...byLine.get(line)! }));
      functions.push(fn);
      continue;
    }
    for (const file of [...files.keys()].sort(byStr)) {
      const ids = files.get(file)!;
      const byLine = new Map<number, { flat: number; cum: number }>();
      let flat = 0;
      let cum = 0;
      for (const id of ids) {
        const ln = g.infos[id]!.line;
        const e = byLine.get(ln) ?? { flat: 0, cum: 0 };
        e.flat += g.flat[id]!;
        e.cum += g.cum[id]!;
        byLine.set(ln, e);
        flat += g.flat[id]!;
        cum += g.cum[id]!;
      }
      out.push(`ROUTINE ======================== ${name} in ${file}`);
      out.push(`${padLeft(fmt(flat), 10)} ${padLeft(fmt(cum), 10)} (flat, cum) ${percentage(cum, prep.total)} of Total`);
      const fn: ListFunction = { name, file, flat, cum, lines: [], sourceFound: false };
      functions.push(fn);
      // without the source, the JSON (and the web UI) still has the lines that carry samples
      const sampled = () => [...byLine.keys()].sort((a, b) => a - b).map((line) => ({ line, ...byLine.get(line)! }));
      // pprof's getSourceFromFile window: from the function's start line (or MARGIN before the
      // first node) to MARGIN after the last, in node order, as pprof grows it
      const startLine = startLines.get(`${name}\u0000${file}`) ?? 0;
      const first = g.infos[ids[0]!]!.line;
      let start = startLine !== 0 ? startLine : first - MARGIN;
      let end = first + MARGIN;
      for (const id of ids) {
        const ln = g.infos[id]!.line;
        const nodeStart = startLine !== 0 ? startLine : ln - MARGIN;
        const nodeEnd = ln + MARGIN;
        if (nodeStart < start) start = nodeStart;
        else if (nodeEnd > end) end = nodeEnd;
      }
      if (start < 1) start = 1;
      // an empty window (a start line past the samples) reads nothing: pprof then reports only
      // an error it met reading the same file for an earlier function
      let src = looked.get(file);
      if (start > end && src === undefined) {
        fn.lines = sampled();
        continue;
      }
      if (src === undefined) looked.set(file, (src = readSource(file) ?? null));
      if (start > end && Array.isArray(src)) {
        fn.lines = sampled();
        continue;
      }
      if (!Array.isArray(src)) {
        fn.error = src === null ? `could not find file ${file}` : src.error;
        out.push(` Error: ${fn.error}`);
        fn.lines = sampled();
        continue;
      }
      fn.sourceFound = true;
      for (let ln = start; ln <= end && ln <= src.length; ln++) {
        const e = byLine.get(ln) ?? { flat: 0, cum: 0 };
        const text = src[ln - 1]!;
        out.push(`${padLeft(dot(e.flat), 10)} ${padLeft(dot(e.cum), 10)} ${padLeft(String(ln), 6)}:${text}`);
        fn.lines.push({ line: ln, flat: e.flat, cum: e.cum, text });
      }
    }
  }
  return { text: out.join('\n') + '\n', functions };
}
