/**
 * The report of `leakscope soak`: one verdict, the load's figures, the runtime figures, the leak
 * report of the watch engine (report/watch.ts) and the gate's comparison with a baseline. Text,
 * JSON (the documented contract: `format: "leakscope-soak"`, `version: 1`), markdown (a PR comment)
 * and JUnit XML.
 */
import type { LeakAnalysis } from '../core/leak/analyze.js';
import { formatChange, formatRate, formatThreshold, type GateResult, type MetricComparison } from '../core/compare.js';
import { errorShare, type LoadRound, type RuntimeFigures } from '../core/soak-figures.js';
import { leakReportJson, renderLeakMarkdown, renderLeakText, type JsonReport, type ReportMeta } from './watch.js';

export type SoakVerdict = 'pass' | 'leak' | 'regression' | 'leak+regression';

export interface SoakSettings {
  url: string;
  pprof?: string;
  command?: string[];
  rate?: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  rounds: number;
}

export interface SoakData {
  settings: SoakSettings;
  warmup?: LoadRound;
  rounds: LoadRound[];
  runtime: RuntimeFigures;
  /** the watch engine's analysis; undefined with the reason in `leaksUnavailable` */
  leaks?: { analysis: LeakAnalysis; meta: ReportMeta };
  leaksUnavailable?: string;
  gate?: { baselineFile: string; savedAt: string; result: GateResult };
  savedBaseline?: string;
  notes: string[];
}

export function verdictOf(d: SoakData): SoakVerdict {
  const leak = (d.leaks?.analysis.suspects.length ?? 0) > 0;
  const reg = (d.gate?.result.regressions.length ?? 0) > 0;
  return leak && reg ? 'leak+regression' : leak ? 'leak' : reg ? 'regression' : 'pass';
}

/** 3 on a leak suspect (also with a regression), 4 on a regression, else 0 */
export function exitCodeOf(v: SoakVerdict): number {
  return v === 'pass' ? 0 : v === 'regression' ? 4 : 3;
}

export interface LoadSummary {
  requests: number;
  errors: number;
  non2xx: number;
  errorShare: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

const med = (v: number[]) => {
  const a = [...v].sort((x, y) => x - y);
  const h = a.length >> 1;
  return a.length === 0 ? NaN : a.length % 2 ? a[h]! : (a[h - 1]! + a[h]!) / 2;
};

/** the load over the measured rounds: totals, rps and percentiles as medians over rounds, max of max */
export function loadSummary(rounds: LoadRound[]): LoadSummary {
  const requests = rounds.reduce((s, r) => s + r.requests, 0);
  const errors = rounds.reduce((s, r) => s + r.errors, 0);
  const non2xx = rounds.reduce((s, r) => s + r.non2xx, 0);
  return {
    requests,
    errors,
    non2xx,
    errorShare: errorShare({ requests, errors, non2xx }),
    rps: med(rounds.map((r) => r.rps)),
    latencyMs: { p50: med(rounds.map((r) => r.p50)), p90: med(rounds.map((r) => r.p90)), p99: med(rounds.map((r) => r.p99)), max: Math.max(0, ...rounds.map((r) => r.max)) },
  };
}

export interface SoakJson {
  format: 'leakscope-soak';
  version: 1;
  verdict: SoakVerdict;
  exitCode: number;
  settings: SoakSettings;
  load: LoadSummary & { rounds: LoadRound[]; warmup?: LoadRound };
  runtime: RuntimeFigures;
  leaks: JsonReport | null;
  leaksUnavailable?: string;
  gate: {
    baseline: string;
    savedAt: string;
    alpha: number;
    regressions: string[];
    metrics: (Omit<MetricComparison, 'threshold'> & { threshold: string; change: string; detectableChange: string })[];
    notes: string[];
  } | null;
  savedBaseline?: string;
  notes: string[];
}

const num = (v: number) => (Number.isFinite(v) ? v : null);

export function soakJson(d: SoakData): SoakJson {
  const verdict = verdictOf(d);
  return {
    format: 'leakscope-soak',
    version: 1,
    verdict,
    exitCode: exitCodeOf(verdict),
    settings: d.settings,
    load: { ...loadSummary(d.rounds), rounds: d.rounds, ...(d.warmup ? { warmup: d.warmup } : {}) },
    runtime: d.runtime,
    leaks: d.leaks ? leakReportJson(d.leaks.analysis, d.leaks.meta) : null,
    ...(d.leaksUnavailable ? { leaksUnavailable: d.leaksUnavailable } : {}),
    gate: d.gate
      ? {
          baseline: d.gate.baselineFile,
          savedAt: d.gate.savedAt,
          alpha: d.gate.result.alpha,
          regressions: d.gate.result.regressions.map((m) => m.metric),
          metrics: d.gate.result.metrics.map((m) => ({
            ...m,
            baseline: num(m.baseline) as number,
            current: num(m.current) as number,
            worse: num(m.worse) as number,
            interval: { lo: num(m.interval.lo) as number, hi: num(m.interval.hi) as number },
            detectable: num(m.detectable) as number,
            threshold: formatThreshold(m.threshold),
            change: formatChange(m),
            detectableChange: Number.isFinite(m.detectable) ? formatChange(m, m.detectable).replace(/^\+/, '±') : 'none (too few rounds)',
          })),
          notes: d.gate.result.notes,
        }
      : null,
    ...(d.savedBaseline ? { savedBaseline: d.savedBaseline } : {}),
    notes: d.notes,
  };
}

// ---------------------------------------------------------------------------------------------

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (v >= 1000) return `${(v / 1000).toFixed(2)}s`;
  if (v >= 10) return `${v.toFixed(0)}ms`;
  return `${v.toFixed(1)}ms`;
}

function bytes(v: number | undefined): string {
  if (v === undefined) return 'n/a';
  const a = Math.abs(v);
  if (a >= 1024 ** 3) return `${(v / 1024 ** 3).toFixed(2)}GiB`;
  if (a >= 1024 ** 2) return `${(v / 1024 ** 2).toFixed(1)}MiB`;
  if (a >= 1024) return `${(v / 1024).toFixed(0)}KiB`;
  return `${v.toFixed(0)}B`;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

function slope(v: number | undefined): string {
  return v === undefined ? 'n/a' : `${v >= 0 ? '+' : ''}${formatRate(v)}`;
}

function metricValue(m: MetricComparison, v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (m.metric === 'rps') return v.toFixed(1);
  if (m.metric === 'errors') return pct(v);
  if (m.threshold.unit === 'bytes-per-min') return slope(v);
  return ms(v);
}

const VERDICT_LINE: Record<SoakVerdict, string> = {
  pass: 'PASS: no leak suspect',
  leak: 'LEAK SUSPECT',
  regression: 'REGRESSION against the baseline',
  'leak+regression': 'LEAK SUSPECT and REGRESSION against the baseline',
};

function verdictLine(d: SoakData): string {
  const v = verdictOf(d);
  let s = VERDICT_LINE[v];
  if (v === 'pass' && d.gate) s += ', no regression against the baseline';
  if (v === 'pass' && !d.leaks) s = d.gate ? 'PASS: no regression against the baseline (no leak verdict: see below)' : 'PASS: the load ran (no leak verdict: see below; no --baseline to compare with)';
  if (d.leaks && d.leaks.analysis.suspects.length > 0) s += ` (${d.leaks.analysis.suspects.map((x) => x.name).slice(0, 3).join(', ')}${d.leaks.analysis.suspects.length > 3 ? ', …' : ''})`;
  if (d.gate && d.gate.result.regressions.length > 0) s += ` [${d.gate.result.regressions.map((m) => `${m.metric} ${formatChange(m)}`).join(', ')}]`;
  return `leakscope soak: ${s}`;
}

function loadLines(d: SoakData): string[] {
  const s = d.settings;
  const l = loadSummary(d.rounds);
  const roundS = (s.durationMs / s.rounds / 1000).toFixed(s.durationMs / s.rounds < 10000 ? 1 : 0);
  return [
    `load: ${s.url} — ${s.rounds} round${s.rounds === 1 ? '' : 's'} × ${roundS}s at ${s.rate ? `${s.rate} req/s` : 'full speed'}, ${s.connections} connection${s.connections === 1 ? '' : 's'} (warm-up ${(s.warmupMs / 1000).toFixed(1)}s not counted)`,
    `  requests ${l.requests}   rps ${l.rps.toFixed(1)}   errors ${pct(l.requests + l.errors > 0 ? l.errors / (l.requests + l.errors) : 0)}   non-2xx ${pct(l.requests + l.errors > 0 ? l.non2xx / (l.requests + l.errors) : 0)}`,
    `  latency p50 ${ms(l.latencyMs.p50)}   p90 ${ms(l.latencyMs.p90)}   p99 ${ms(l.latencyMs.p99)}   max ${ms(l.latencyMs.max)}   (medians over rounds; max of all)`,
  ];
}

function runtimeLines(r: RuntimeFigures): string[] {
  const out = [`runtime (after warm-up; ${r.source}):`];
  out.push(`  RSS slope ${slope(r.rssSlopePerMin)}${r.rssStart !== undefined ? ` (${bytes(r.rssStart)} → ${bytes(r.rssEnd)})` : ''}   heap slope ${slope(r.heapSlopePerMin)}`);
  const gc = r.gcPauseTotalMs !== undefined ? `GC pauses ${r.gcPauses ?? '?'}, total ${ms(r.gcPauseTotalMs)}, p99 ${r.gcP99Ms !== undefined ? `${r.gcP99Bound ? '≤ ' : ''}${ms(r.gcP99Ms)}` : 'n/a'}` : 'GC pauses n/a';
  out.push(`  ${gc}   event-loop delay p99 ${r.eventLoopP99Ms !== undefined ? ms(r.eventLoopP99Ms) : 'n/a'}`);
  return out;
}

function gateRows(g: NonNullable<SoakData['gate']>): string[][] {
  return g.result.metrics.map((m) => [
    m.metric,
    metricValue(m, m.baseline),
    metricValue(m, m.current),
    Number.isFinite(m.worse) ? formatChange(m) : 'n/a',
    formatThreshold(m.threshold),
    Number.isFinite(m.detectable) ? formatChange(m, m.detectable).replace(/^\+/, '±') : 'none',
    Number.isFinite(m.p) && !m.skipped ? m.p.toFixed(3) : '-',
    m.skipped ? `skipped: ${m.skipped}` : m.regression ? 'REGRESSION' : 'ok',
  ]);
}

/** how the p column was adjusted: by Holm over the metrics compared, when there are several */
function holmNote(g: NonNullable<SoakData['gate']>): string {
  const n = g.result.metrics.filter((m) => !m.skipped).length;
  return n > 1 ? `Holm-adjusted over the ${n} metrics compared, ` : '';
}

const GATE_HEAD = ['metric', 'baseline', 'current', 'worse by', 'limit', 'detectable', 'p', 'verdict'];

export function renderSoakText(d: SoakData): string {
  const out: string[] = [verdictLine(d), '', ...loadLines(d), ...runtimeLines(d.runtime), ''];
  if (d.leaks) out.push(renderLeakText(d.leaks.analysis, d.leaks.meta).trimEnd(), '');
  else out.push(`leaks: no verdict (${d.leaksUnavailable ?? 'not watched'})`, '');
  if (d.gate) {
    out.push(`gate against ${d.gate.baselineFile} (saved ${d.gate.savedAt}); a regression is worse than its limit and significant (one-sided Mann–Whitney over rounds, ${holmNote(d.gate)}p < ${d.gate.result.alpha}):`);
    const rows = [GATE_HEAD, ...gateRows(d.gate)];
    const w = GATE_HEAD.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) out.push(`  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')}`);
    for (const n of d.gate.result.notes) out.push(`  note: ${n}`);
    out.push('');
  }
  if (d.savedBaseline) out.push(`baseline saved to ${d.savedBaseline}`);
  for (const n of d.notes) out.push(`note: ${n}`);
  return out.join('\n').trimEnd() + '\n';
}

export function renderSoakMarkdown(d: SoakData): string {
  const v = verdictOf(d);
  const icon = v === 'pass' ? '✅' : '❌';
  const l = loadSummary(d.rounds);
  const r = d.runtime;
  const out: string[] = [`### ${icon} ${verdictLine(d).replace(/^leakscope soak: /, 'leakscope soak: ')}`, ''];
  out.push('| load | value |', '|---|---|');
  out.push(`| rounds | ${d.settings.rounds} × ${(d.settings.durationMs / d.settings.rounds / 1000).toFixed(1)}s at ${d.settings.rate ? `${d.settings.rate} req/s` : 'full speed'}, ${d.settings.connections} connections |`);
  out.push(`| requests / rps | ${l.requests} / ${l.rps.toFixed(1)} |`);
  out.push(`| errors / non-2xx | ${pct(l.requests + l.errors > 0 ? l.errors / (l.requests + l.errors) : 0)} / ${pct(l.requests + l.errors > 0 ? l.non2xx / (l.requests + l.errors) : 0)} |`);
  out.push(`| latency p50 / p90 / p99 / max | ${ms(l.latencyMs.p50)} / ${ms(l.latencyMs.p90)} / ${ms(l.latencyMs.p99)} / ${ms(l.latencyMs.max)} |`);
  out.push(`| RSS / heap slope | ${slope(r.rssSlopePerMin)} / ${slope(r.heapSlopePerMin)} |`);
  out.push(`| GC pause total / p99 | ${ms(r.gcPauseTotalMs)} / ${r.gcP99Ms !== undefined ? `${r.gcP99Bound ? '≤ ' : ''}${ms(r.gcP99Ms)}` : 'n/a'} |`);
  out.push(`| event-loop delay p99 | ${r.eventLoopP99Ms !== undefined ? ms(r.eventLoopP99Ms) : 'n/a'} |`, '');
  if (d.gate) {
    out.push(`**Gate** against \`${d.gate.baselineFile}\` (Mann–Whitney over rounds, ${holmNote(d.gate)}p < ${d.gate.result.alpha}):`, '');
    out.push(`| ${GATE_HEAD.join(' | ')} |`, `|${GATE_HEAD.map(() => '---').join('|')}|`);
    for (const row of gateRows(d.gate)) out.push(`| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
    out.push('');
  }
  if (d.leaks) out.push(renderLeakMarkdown(d.leaks.analysis, d.leaks.meta).trimEnd(), '');
  else out.push(`Leaks: no verdict (${d.leaksUnavailable ?? 'not watched'}).`, '');
  for (const n of d.notes) out.push(`> ${n}`);
  return out.join('\n').trimEnd() + '\n';
}

function xml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** JUnit XML: one test case for the leak verdict and one per gated metric */
export function renderSoakJunit(d: SoakData, elapsedMs: number): string {
  const cases: string[] = [];
  const secs = (elapsedMs / 1000).toFixed(3);
  if (d.leaks) {
    const s = d.leaks.analysis.suspects;
    const body = s.length > 0 ? `<failure message="${xml(`${s.length} leak suspect(s): ${s.map((x) => x.name).join(', ')}`)}" type="leak">${xml(renderLeakText(d.leaks.analysis, d.leaks.meta))}</failure>` : '';
    cases.push(`    <testcase classname="leakscope.soak" name="no leak suspect" time="${secs}">${body}</testcase>`);
  } else cases.push(`    <testcase classname="leakscope.soak" name="no leak suspect" time="${secs}"><skipped message="${xml(d.leaksUnavailable ?? 'not watched')}"/></testcase>`);
  if (d.gate) {
    for (const m of d.gate.result.metrics) {
      const name = `${m.metric} within ${formatThreshold(m.threshold)} of the baseline`;
      let body = '';
      if (m.skipped) body = `<skipped message="${xml(m.skipped)}"/>`;
      else if (m.regression) body = `<failure message="${xml(`${m.metric} worse by ${formatChange(m)} (limit ${formatThreshold(m.threshold)}, p=${m.p.toFixed(3)})`)}" type="regression"/>`;
      cases.push(`    <testcase classname="leakscope.soak.gate" name="${xml(name)}" time="0">${body}</testcase>`);
    }
  }
  const failures = cases.filter((c) => c.includes('<failure')).length;
  const skipped = cases.filter((c) => c.includes('<skipped')).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="leakscope soak" tests="${cases.length}" failures="${failures}" time="${secs}">`,
    `  <testsuite name="leakscope soak ${xml(d.settings.url)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
