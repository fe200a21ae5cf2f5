/**
 * Renderers for the fleet report (`watch` over many targets, `analyze FLEET_DIR`) and its live
 * view: one line per target. Pure string functions; times and widths come in as numbers.
 */
import type { FleetAnalysis, FleetFinding, FleetTarget } from '../core/fleet.js';
import type { LeakAnalysis, Suspect } from '../core/leak/analyze.js';
import { formatDuration, formatRate, formatValue, kindLabel, leakReportJson, sparkline, type JsonReport } from './watch.js';

export interface FleetMeta {
  fleetDir?: string;
  durationMs: number;
  intervalMs?: number;
  notes?: string[];
}

const STATUS_WORD: Record<FleetTarget['status'], string> = { leak: 'LEAK', ok: 'ok', 'no-verdict': 'wait', unreachable: 'DOWN' };

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function where(s: { file: string; line: number }): string {
  if (!s.file) return '(no file)';
  return s.line > 0 ? `${s.file}:${s.line}` : s.file;
}

function siteText(s: { name: string; file: string; line: number; resource?: string }): string {
  if (!s.file && /^\(.*\)$/.test(s.name)) return s.name;
  return `${s.resource ? `${s.resource} ` : ''}${s.name} at ${where(s)}`;
}

function runtimeOf(a: LeakAnalysis | undefined, kind: string) {
  return a?.kinds.find((k) => k.kind === kind)?.runtime;
}

function jobWords(job: string, n: number): string {
  return `${job ? `${job} ` : ''}instance${n === 1 ? '' : 's'}`;
}

/** "5 of 6 api instances: heap createSession at main.go:49 +1.2MB/min" */
export function findingHeadline(f: FleetFinding): string {
  const rate = formatRate(f.medianGrowthPerMinute, f.unit, f.profile, f.label === 'async' ? 'node' : undefined);
  const spread =
    f.members.length > 1 && f.minGrowthPerMinute !== f.maxGrowthPerMinute
      ? ` (median of ${f.members.length}; ${formatValue(f.minGrowthPerMinute, f.unit)} to ${formatRate(f.maxGrowthPerMinute, f.unit, f.profile, f.label === 'async' ? 'node' : undefined).replace(/^\+/, '')})`
      : '';
  return `${f.members.length} of ${f.of} ${jobWords(f.job, f.of)}: ${f.label} ${siteText(f)}  ${rate}${spread}`;
}

function heapLine(t: FleetTarget): string {
  const a = t.analysis;
  if (!a) return '';
  const k = a.kinds.find((x) => x.kind === 'heap') ?? a.kinds[0];
  if (!k || k.totals.length === 0) return '';
  const first = k.totals[0]!;
  const last = k.totals[k.totals.length - 1]!;
  const rel = t.relativeGrowth !== 0 ? ` (${t.relativeGrowth >= 0 ? '+' : ''}${(t.relativeGrowth * 100).toFixed(1)}%/min)` : '';
  return `${kindLabel(k)} ${formatValue(first, k.unit)} → ${formatValue(last, k.unit)}${rel}`;
}

function suspectLine(a: LeakAnalysis, s: Suspect): string {
  const k = a.kinds.find((x) => x.kind === s.profile);
  return `${(k ? kindLabel(k) : s.profile).padEnd(9)} ${siteText(s)}  ${formatRate(s.growthPerMinute, s.unit, s.profile, k?.runtime)}, confidence ${s.confidence.toFixed(3)}`;
}

function targetHead(t: FleetTarget, width: number): string {
  const job = t.job ? `  job=${t.job}` : '';
  const gaps = t.gaps > 0 ? `, ${plural(t.gaps, 'failed poll')}` : '';
  const restarts = t.restarts > 0 ? `, ${plural(t.restarts, 'restart')}` : '';
  const gone = t.vanished ? ', left discovery' : '';
  return `${String(t.rank).padStart(width)}. ${STATUS_WORD[t.status].padEnd(4)}  ${t.id}${job}  ${plural(t.samples, 'sample')}${gaps}${restarts}${gone}`;
}

function countsLine(a: FleetAnalysis): string {
  const c = a.counts;
  const parts = [`${c.leaking} leaking`, `${c.ok} without a leak`];
  if (c.noVerdict > 0) parts.push(`${c.noVerdict} without a verdict yet`);
  if (c.unreachable > 0) parts.push(`${c.unreachable} unreachable`);
  return parts.join(', ');
}

function sensitivityOf(a: FleetAnalysis): string | undefined {
  return a.targets.find((t) => t.analysis)?.analysis?.sensitivity;
}

export function renderFleetText(a: FleetAnalysis, meta: FleetMeta): string {
  const lines: string[] = [];
  const sens = sensitivityOf(a);
  lines.push(
    `leakscope fleet: ${plural(a.counts.targets, 'target')} over ${formatDuration(meta.durationMs)}` +
      `${meta.intervalMs !== undefined ? `, every ${meta.intervalMs < 1000 ? `${meta.intervalMs}ms` : formatDuration(meta.intervalMs)}` : ''}${sens ? `, sensitivity ${sens}` : ''}`,
  );
  lines.push(`  ${countsLine(a)}`);
  if (meta.fleetDir) lines.push(`  fleet directory: ${meta.fleetDir}`);
  lines.push('');
  if (a.findings.length > 0) {
    lines.push('Findings (the same suspect in several instances of a job):');
    a.findings.forEach((f, i) => {
      lines.push(`${String(i + 1).padStart(3)}. ${findingHeadline(f)}`);
      lines.push(`       ${f.members.map((m) => m.id).join(', ')}`);
      if (f.without > 0) lines.push(`       (${plural(f.without, `other ${f.job ? `${f.job} ` : ''}instance`)} unreachable or without a verdict)`);
    });
    lines.push('');
  } else if (a.counts.leaking > 0) {
    lines.push('No suspect is shared by several instances of a job.');
    lines.push('');
  } else if (a.counts.ok + a.counts.noVerdict > 0 && a.counts.leaking === 0) {
    lines.push('No leak in any target.');
    lines.push('');
  }
  const width = String(a.targets.length).length;
  lines.push('Targets, most likely leaking first:');
  for (const t of a.targets) {
    lines.push(targetHead(t, width));
    const pad = ' '.repeat(width + 8);
    if (t.status === 'unreachable') {
      lines.push(`${pad}never answered with a profile${t.lastError ? `: ${t.lastError}` : ''}`);
      continue;
    }
    const h = heapLine(t);
    if (h) lines.push(`${pad}${h}`);
    const an = t.analysis!;
    if (t.status === 'no-verdict') {
      const n = Math.max(0, ...an.kinds.map((k) => (k.analyzed ? k.analyzed.to - k.analyzed.from : 0)));
      lines.push(`${pad}no verdict: ${plural(n, 'sample')}, at least ${an.minSamples} needed`);
    }
    for (const s of an.suspects) lines.push(`${pad}${suspectLine(an, s)}`);
    if (an.outside.length > 0) lines.push(`${pad}(${an.outside.length} more growing outside the code: a library's or the runtime's own)`);
    if (t.failingAtEnd && t.lastError) lines.push(`${pad}failing at the end: ${t.lastError}`);
    if (t.dir) lines.push(`${pad}run directory: ${t.dir}`);
  }
  const down = a.targets.filter((t) => t.status === 'unreachable');
  if (down.length > 0) {
    lines.push('');
    lines.push(`Could not be reached (${down.length}):`);
    for (const t of down) lines.push(`  - ${t.id}${t.job ? ` (${t.job})` : ''}: ${t.lastError ?? 'no answer'}`);
  }
  for (const n of meta.notes ?? []) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

function md(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/`/g, "'");
}

export function renderFleetMarkdown(a: FleetAnalysis, meta: FleetMeta): string {
  const lines: string[] = [];
  const c = a.counts;
  lines.push(`### leakscope fleet: ${c.leaking} of ${c.targets} targets leaking`);
  lines.push('');
  lines.push(`${countsLine(a)}; watched for ${formatDuration(meta.durationMs)}.${meta.fleetDir ? ` Fleet directory: \`${md(meta.fleetDir)}\`.` : ''}`);
  if (a.findings.length > 0) {
    lines.push('');
    lines.push('| # | job | instances | kind | function | location | growth/min (median) |');
    lines.push('|---|---|---|---|---|---|---|');
    a.findings.forEach((f, i) => {
      lines.push(
        `| ${i + 1} | ${md(f.job || '-')} | ${f.members.length} of ${f.of} | ${f.label}${f.resource ? ` (${md(f.resource)})` : ''} | \`${md(f.name)}\` | \`${md(where(f))}\` | ${formatRate(f.medianGrowthPerMinute, f.unit, f.profile, f.label === 'async' ? 'node' : undefined)} |`,
      );
    });
  }
  lines.push('');
  lines.push('| rank | status | target | job | samples | heap | top suspect |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const t of a.targets) {
    const s = t.analysis?.suspects[0];
    const top = s ? `\`${md(s.name)}\` ${formatRate(s.growthPerMinute, s.unit, s.profile, runtimeOf(t.analysis, s.profile))}` : t.status === 'unreachable' ? md(t.lastError ?? 'no answer') : '';
    lines.push(`| ${t.rank} | ${STATUS_WORD[t.status]} | \`${md(t.id)}\` | ${md(t.job || '-')} | ${t.samples} | ${md(heapLine(t))} | ${top} |`);
  }
  for (const n of meta.notes ?? []) lines.push('', `> ${md(n)}`);
  return lines.join('\n') + '\n';
}

export interface FleetJsonTarget {
  rank: number;
  id: string;
  url: string;
  job: string;
  labels: Record<string, string>;
  status: FleetTarget['status'];
  samples: number;
  gaps: number;
  restarts: number;
  confidence: number;
  relativeGrowthPerMinute: number;
  vanished: boolean;
  lastError: string | null;
  runDir: string | null;
  /** the target's own leak report (watch --json's), when it answered at least once */
  report: JsonReport | null;
}

export interface FleetJson {
  fleetDir: string | null;
  durationMs: number;
  intervalMs: number | null;
  counts: FleetAnalysis['counts'];
  findings: (Omit<FleetFinding, 'members'> & { instances: number; members: FleetFinding['members'] })[];
  targets: FleetJsonTarget[];
  notes: string[];
}

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export function fleetReportJson(a: FleetAnalysis, meta: FleetMeta): FleetJson {
  return {
    fleetDir: meta.fleetDir ?? null,
    durationMs: Math.round(meta.durationMs),
    intervalMs: meta.intervalMs ?? null,
    counts: a.counts,
    findings: a.findings.map((f) => ({
      ...f,
      instances: f.members.length,
      medianGrowthPerMinute: r4(f.medianGrowthPerMinute),
      minGrowthPerMinute: r4(f.minGrowthPerMinute),
      maxGrowthPerMinute: r4(f.maxGrowthPerMinute),
      members: f.members.map((m) => ({ ...m, growthPerMinute: r4(m.growthPerMinute), confidence: r4(m.confidence) })),
    })),
    targets: a.targets.map((t) => ({
      rank: t.rank,
      id: t.id,
      url: t.url,
      job: t.job,
      labels: t.labels,
      status: t.status,
      samples: t.samples,
      gaps: t.gaps,
      restarts: t.restarts,
      confidence: r4(t.confidence),
      relativeGrowthPerMinute: r4(t.relativeGrowth),
      vanished: t.vanished ?? false,
      lastError: t.lastError ?? null,
      runDir: t.dir ?? null,
      report: t.analysis ? leakReportJson(t.analysis, { target: t.url, ...(t.dir ? { runDir: t.dir } : {}), samples: t.samples, durationMs: meta.durationMs, gaps: t.gaps }) : null,
    })),
    notes: meta.notes ?? [],
  };
}

export interface FleetLiveRow {
  target: FleetTarget;
  /** the latest state in words: "retry in 8s (…)", "restarted", … */
  state?: string;
}

export interface FleetLiveState {
  fleetDir: string;
  elapsedMs: number;
  durationMs?: number;
  rows: FleetLiveRow[];
  findings: FleetFinding[];
  status?: string;
  columns?: number;
  /** terminal height: rows beyond it are summarised in one line */
  rowsAvailable?: number;
}

function cut(s: string, width: number): string {
  return s.length > width ? s.slice(0, width - 1) + '…' : s;
}

/** One line for a target in the live view. */
export function fleetLiveLine(row: FleetLiveRow, width: number, idWidth: number, jobWidth: number): string {
  const t = row.target;
  const a = t.analysis;
  const k = a?.kinds.find((x) => x.kind === 'heap') ?? a?.kinds[0];
  const last = k && k.totals.length > 0 ? formatValue(k.totals[k.totals.length - 1]!, k.unit) : '-';
  const spark = k ? sparkline(k.totals, 12) : '';
  const s = a?.suspects[0];
  const what = s
    ? `${s.name} ${formatRate(s.growthPerMinute, s.unit, s.profile, runtimeOf(a, s.profile))}${a!.suspects.length > 1 ? ` (+${a!.suspects.length - 1})` : ''}`
    : t.status === 'no-verdict'
      ? 'collecting'
      : t.status === 'ok'
        ? 'no leak'
        : // the line names the target already: the error without its URL
          (t.lastError?.replace(/^https?:\/\/\S*?\/debug\/pprof\/(\w+)\S*: /, '$1: ') ?? 'waiting for the first answer');
  const state = row.state ? `[${row.state}] ` : '';
  const line = `  ${STATUS_WORD[t.status].padEnd(4)} ${t.id.padEnd(idWidth)} ${t.job.padEnd(jobWidth)} ${String(t.samples).padStart(4)} ${last.padStart(9)} ${spark.padEnd(12)} ${state}${what}`;
  return cut(line, width);
}

export function renderFleetLive(st: FleetLiveState): string {
  const width = Math.max(60, Math.min(st.columns ?? 120, 200));
  const lines: string[] = [];
  const planned = st.durationMs !== undefined ? ` / ${formatDuration(st.durationMs)}` : '';
  const leaking = st.rows.filter((r) => r.target.status === 'leak').length;
  const down = st.rows.filter((r) => r.target.status === 'unreachable').length;
  lines.push(`leakscope watch: ${plural(st.rows.length, 'target')}, ${leaking} leaking, ${down} unreachable   elapsed ${formatDuration(st.elapsedMs)}${planned}   Ctrl-C: stop and report`);
  lines.push(cut(`  fleet directory ${st.fleetDir}`, width));
  const idWidth = Math.min(32, Math.max(6, ...st.rows.map((r) => r.target.id.length)));
  const jobWidth = Math.min(16, Math.max(3, ...st.rows.map((r) => r.target.job.length)));
  lines.push(cut(`  ${'    '} ${'target'.padEnd(idWidth)} ${'job'.padEnd(jobWidth)} ${'smpl'} ${'heap'.padStart(9)} ${''.padEnd(12)} top suspect`, width));
  const room = st.rowsAvailable !== undefined ? Math.max(3, st.rowsAvailable - 6 - Math.min(3, st.findings.length)) : st.rows.length;
  const shown = st.rows.slice(0, room);
  for (const r of shown) lines.push(fleetLiveLine(r, width, idWidth, jobWidth));
  if (st.rows.length > shown.length) lines.push(`  … ${st.rows.length - shown.length} more (ranked lower)`);
  for (const f of st.findings.slice(0, 3)) lines.push(cut(`  finding: ${findingHeadline(f)}`, width));
  if (st.status) lines.push(cut(st.status, width));
  return lines.join('\n') + '\n';
}
