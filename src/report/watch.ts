/**
 * Renderers for leak reports and the live watch view. Pure string functions: they never print,
 * never read the clock (times come in as numbers), so golden tests can pin their output.
 */
import type { KindSummary, LeakAnalysis, NearMiss, Suspect, SiteTrend } from '../core/leak/analyze.js';
import { libraryPackage, type FrameRef, type LeakKind, type LeakUnit, type SiteOrigin } from '../core/leak/summary.js';
import type { VerdictReason } from '../core/leak/verdict.js';

/** One group from `leakscope snapshot leaks --json` (kept loose: the snapshot finder owns it). */
export interface SnapshotLeakGroup {
  className: string;
  count: number;
  retainedSize: number;
  /** per snapshot, objects of the group alive then (or one number) */
  growth: number[] | number;
  retainerPath?: unknown;
  location?: unknown;
  [k: string]: unknown;
}

export interface ReportMeta {
  target: string;
  runDir?: string;
  /** poll rounds with at least one profile (or, offline, the largest count of one kind) */
  samples: number;
  durationMs: number;
  gaps: number;
  /** snapshot leak groups when `--snapshots` ran */
  snapshotLeaks?: SnapshotLeakGroup[];
  /** extra lines (e.g. "stopped by Ctrl-C", snapshot errors) */
  notes?: string[];
}

export interface JsonSuspect {
  profile: LeakKind;
  name: string;
  file: string;
  line: number;
  stack: string[];
  growthPerMinute: number;
  unit: LeakUnit;
  confidence: number;
  pValue: number;
  totalGrowth: number;
  firstValue: number;
  lastValue: number;
  firstDetectedSample: number;
  /** when the verdict first held (ISO time), when the samples have clock times */
  firstDetectedAt: string | null;
  objectsPerMinute?: number;
  /** user: named at the user's code; library / runtime: no user frame in the stack */
  origin: SiteOrigin;
  /** the library frame the user's code calls into, when the allocation happens in node_modules */
  library?: FrameRef;
  /** async resource type (Node census): Timeout, TCPSocket, Promise… */
  resource?: string;
  /** a leak inside a library fed from several places: the other user frames calling into it */
  callers?: FrameRef[];
  /** the package the user's frame calls into, when the bytes are allocated in a library */
  entryPackage?: string;
  /** a near miss of the sampler confirmed by the heap snapshots of \`watch --snapshots\` */
  snapshotConfirmed?: string;
  snapshotOnly?: { count: number; retainedSize: number; growth: number[] };
  /** a library the user's code reaches through another one: where the user's code configures it
   *  (`session({...})`), the line to change; `also`: further calls of that library */
  configuredAt?: FrameRef & { also?: FrameRef[] };
}

export interface JsonNearMiss {
  profile: LeakKind;
  name: string;
  file: string;
  line: number;
  unit: LeakUnit;
  library?: FrameRef;
  resource?: string;
  reason: VerdictReason;
  /** why, in words */
  why: string;
  growthPerMinute: number;
  growth: number;
  pValue: number;
  /** the sample at which its verdict held earlier in the run (it was a suspect then) */
  heldAtSample?: number;
}

export interface JsonReport {
  target: string;
  samples: number;
  runDir: string | null;
  durationMs: number;
  gaps: number;
  sensitivity: string;
  minSamples: number;
  segments: { profile: LeakKind; count: number; analyzedSamples: number; restarts: string[] }[];
  /** per profile kind: the runtime, what it counts, the heap sampler's resolution */
  profiles: { profile: LeakKind; label: string; runtime: string | null; samplingInterval: number | null; totalGrowthPerMinute: number; totalVerdict: string; minDetectablePerMinute: number | null }[];
  suspects: JsonSuspect[];
  /** confirmed growth with no user frame in the stack (a library's or the runtime's own) */
  outside: JsonSuspect[];
  nearMisses: JsonNearMiss[];
  snapshotLeaks?: SnapshotLeakGroup[];
  notes: string[];
}

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

export function leakReportJson(a: LeakAnalysis, meta: ReportMeta): JsonReport {
  return {
    target: meta.target,
    samples: meta.samples,
    runDir: meta.runDir ?? null,
    durationMs: Math.round(meta.durationMs),
    gaps: meta.gaps,
    sensitivity: a.sensitivity,
    minSamples: a.minSamples,
    segments: a.kinds.map((k) => ({
      profile: k.kind,
      count: k.segments.length,
      analyzedSamples: k.analyzed ? k.analyzed.to - k.analyzed.from : 0,
      restarts: k.segments.slice(1).map((s) => s.reason),
    })),
    profiles: a.kinds.map((k) => ({
      profile: k.kind,
      label: kindLabel(k),
      runtime: k.runtime ?? null,
      samplingInterval: k.samplingInterval ?? null,
      totalGrowthPerMinute: round(k.totalSlopePerMinute, 3),
      totalVerdict: k.totalVerdict,
      minDetectablePerMinute: minDetectable(k)?.perMinute ?? null,
    })),
    suspects: a.suspects.map((s) => jsonSuspect(a, s)),
    outside: a.outside.map((s) => jsonSuspect(a, s)),
    nearMisses: a.nearMisses.map((m) => ({
      profile: m.profile,
      name: m.name,
      file: m.file,
      line: m.line,
      unit: m.unit,
      ...(m.library ? { library: m.library } : {}),
      ...(m.resource ? { resource: m.resource } : {}),
      reason: m.reason,
      why: whyNot(m, a.kinds.find((k) => k.kind === m.profile)),
      growthPerMinute: round(m.slopePerMinute, 3),
      growth: m.growth,
      pValue: Number(m.pValue.toPrecision(4)),
      ...(m.heldAtSample !== undefined ? { heldAtSample: m.heldAtSample } : {}),
    })),
    ...(meta.snapshotLeaks ? { snapshotLeaks: meta.snapshotLeaks } : {}),
    notes: meta.notes ?? [],
  };
}

function jsonSuspect(a: LeakAnalysis, s: Suspect): JsonSuspect {
  return {
      profile: s.profile,
      name: s.name,
      file: s.file,
      line: s.line,
      stack: s.stack,
      growthPerMinute: round(s.growthPerMinute, 3),
      unit: s.unit,
      confidence: round(s.confidence, 4),
      pValue: Number(s.pValue.toPrecision(4)),
      totalGrowth: round(s.totalGrowth, 3),
      firstValue: s.firstValue,
      lastValue: s.lastValue,
      firstDetectedSample: s.firstDetectedSample,
      firstDetectedAt: a.kinds.find((k) => k.kind === s.profile)?.clock ? new Date(s.firstDetectedMs).toISOString() : null,
      ...(s.objectsPerMinute !== undefined ? { objectsPerMinute: round(s.objectsPerMinute, 3) } : {}),
      origin: s.origin,
      ...(s.library ? { library: s.library } : {}),
      ...(s.resource ? { resource: s.resource } : {}),
      ...(s.callers ? { callers: s.callers } : {}),
      ...(s.entryPackage ? { entryPackage: s.entryPackage } : {}),
      ...(s.configuredAt ? { configuredAt: s.configuredAt } : {}),
      ...(s.snapshotConfirmed ? { snapshotConfirmed: s.snapshotConfirmed } : {}),
      ...(s.snapshotOnly ? { snapshotOnly: s.snapshotOnly } : {}),
  };
}

/** pprof-like scaled value: 1024-based for bytes, `%.2f` with a trailing `.00` dropped. */
export function formatValue(v: number, unit: LeakUnit): string {
  const neg = v < 0;
  let x = Math.abs(v);
  let suffix = '';
  if (unit === 'bytes') {
    const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
    let i = 0;
    while (x >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    suffix = units[i]!;
  } else {
    const units = ['', 'k', 'M', 'G'];
    let i = 0;
    while (x >= 1000 && i < units.length - 1) {
      x /= 1000;
      i++;
    }
    suffix = units[i]!;
  }
  let s = x.toFixed(2).replace(/\.00$/, '');
  if (unit !== 'bytes' && suffix === '' && Number.isInteger(x)) s = String(x);
  return `${neg ? '-' : ''}${s}${suffix}`;
}

function unitWord(unit: LeakUnit): string {
  return unit === 'bytes' ? '' : unit === 'objects' ? ' objects' : '';
}

/** What a count profile counts: Go goroutines, or (the leakscope agent's census, whichever URL
 *  it was fetched from) Node async resources, or pending promises. */
function countWord(kind: LeakKind, runtime?: string): string {
  if (kind === 'promises') return ' pending promises';
  if (kind === 'goroutine' && runtime !== 'node') return ' goroutines';
  return kind === 'heap' ? '' : ' async resources';
}

/** The kind as shown: the agent's census is `async` even when polled as `goroutine`. */
export function kindLabel(k: Pick<KindSummary, 'kind' | 'runtime'>): string {
  return k.kind === 'goroutine' && k.runtime === 'node' ? 'async' : k.kind;
}

function kindOf(a: LeakAnalysis, kind: LeakKind): KindSummary | undefined {
  return a.kinds.find((k) => k.kind === kind);
}

export function formatRate(v: number, unit: LeakUnit, kind: LeakKind, runtime?: string): string {
  return `${v >= 0 ? '+' : ''}${formatValue(v, unit)}${unit === 'count' ? countWord(kind, runtime) : unitWord(unit)}/min`;
}

/**
 * The smallest growth a heap site must show to be judged at all, and the rate that takes over the
 * analyzed span: the materiality floor, and at least two of the sampler's samples (a site's series
 * moves in steps of about one interval, and one step is never a trend).
 */
export function minDetectable(k: KindSummary): { bytes: number; perMinute: number; spanMs: number } | undefined {
  if (k.kind !== 'heap' || k.samplingInterval === undefined || !k.clock) return undefined;
  const spanMs = (k.times[k.times.length - 1] ?? 0) - (k.times[0] ?? 0);
  if (!(spanMs > 0)) return undefined;
  const bytes = Math.max(k.floor, 2 * k.samplingInterval);
  return { bytes, perMinute: bytes / (spanMs / 60000), spanMs };
}

const WHY: Record<VerdictReason, string> = {
  leak: 'confirmed',
  'too-few-samples': 'too few samples',
  'no-growth': 'no growth over the run',
  immaterial: 'its growth is below the floor',
  'not-significant': 'the rise is not significant',
  'not-monotonic': 'it rises and falls',
  plateau: 'it stopped growing in the later half (a cache filling up?)',
  'single-jump': 'most of its growth came in one step',
  'falls-back': 'its count falls back between samples (work in flight comes and goes; what leaks stays)',
};

/** Why a near miss is not a suspect, in words. */
export function whyNot(m: NearMiss, k: KindSummary | undefined): string {
  if (m.cache) return m.cache;
  const base = WHY[m.reason] ?? m.reason;
  if (m.reason === 'immaterial' && k) {
    // the verdict's growth is the robust slope over the span, not last − first
    const span = k.clock ? ((k.times[k.times.length - 1] ?? 0) - (k.times[0] ?? 0)) / 60000 : k.times.length - 1;
    const steady = m.slopePerMinute * span;
    return `${base} (${formatValue(Number.isFinite(steady) && steady > 0 ? steady : m.growth, m.unit)} of steady growth, the floor is ${formatValue(k.floor, m.unit)})`;
  }
  if (m.reason === 'not-significant') return `${base} yet (Mann–Kendall p=${m.pValue.toPrecision(2)})`;
  return base;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const SPARK = '▁▂▃▄▅▆▇█';

/** A sparkline of the last `width` values (bucket means when there are more). */
export function sparkline(values: readonly number[], width = 40): string {
  const vals = values.filter((v) => Number.isFinite(v));
  if (vals.length === 0) return '';
  let pts = vals;
  if (vals.length > width) {
    pts = [];
    for (let b = 0; b < width; b++) {
      const lo = Math.floor((b * vals.length) / width);
      const hi = Math.floor(((b + 1) * vals.length) / width);
      let sum = 0;
      for (let i = lo; i < hi; i++) sum += vals[i]!;
      pts.push(sum / Math.max(1, hi - lo));
    }
  }
  const min = Math.min(...pts);
  const max = Math.max(...pts);
  return pts.map((v) => (max === min ? SPARK[0] : SPARK[Math.min(7, Math.floor(((v - min) / (max - min)) * 8))])).join('');
}

function where(s: { file: string; line: number }): string {
  if (!s.file) return '(no file)';
  return s.line > 0 ? `${s.file}:${s.line}` : s.file;
}

/** `name at file:line`, then the library frame it calls into: the user's line first. */
function site(s: { name: string; file: string; line: number; library?: FrameRef; resource?: string }, sep = ' '): string {
  // the census names a resource with no known callback `(Type: callback location unknown)`
  if (!s.file && /^\(.*\)$/.test(s.name)) return s.name;
  const res = s.resource ? `${s.resource} ` : '';
  const lib = s.library ? `, inside ${s.library.name} at ${where(s.library)}` : '';
  return `${res}${s.name}${sep}at ${where(s)}${lib}`;
}

/** `express-session, reached from your code through express, is set up at app.js:23 (session(…))` */
function configuredLine(s: Suspect): string {
  const c = s.configuredAt!;
  const pkg = s.library ? libraryPackage(s.library.file) : '';
  const also = c.also && c.also.length > 0 ? `; also called at ${c.also.map((x) => where(x)).join(', ')}` : '';
  return `configured at ${where(c)} (${c.name}): ${pkg || 'the library'} is reached from your code through ${s.entryPackage ?? 'another library'}, so this is where it is set up${also}`;
}

function verdictNeeds(a: LeakAnalysis): string | undefined {
  const counts = a.kinds.map((k) => (k.analyzed ? k.analyzed.to - k.analyzed.from : 0));
  const best = counts.length > 0 ? Math.max(...counts) : 0;
  if (best < a.minSamples) return `no verdict: ${best} sample${best === 1 ? '' : 's'}, at least ${a.minSamples} needed`;
  return undefined;
}

function suspectHeadline(s: Suspect, k: KindSummary | undefined): string {
  const label = k ? kindLabel(k) : s.profile;
  const origin = s.origin === 'library' ? '  (a library callback; no creation stack)' : '';
  return `${label.padEnd(9)} ${site(s, '  ')}${origin}`;
}

function suspectDetail(s: Suspect, k: KindSummary | undefined, kindTotal: number | undefined, t0: number | undefined): string {
  const label = k ? kindLabel(k) : s.profile;
  const share = kindTotal && kindTotal > 0 ? `, ${Math.round((s.lastValue / kindTotal) * 100)}% of ${label}` : '';
  if (s.snapshotOnly) {
    const o = s.snapshotOnly;
    return `found by the heap snapshots alone: ${o.count} objects born during the run still alive, retaining ${formatValue(o.retainedSize, 'bytes')}, rising in every snapshot (${o.growth.join(' → ')})`;
  }
  const objs = s.objectsPerMinute !== undefined ? `, ${formatValue(s.objectsPerMinute, 'objects')} objects/min` : '';
  return (
    `${formatRate(s.growthPerMinute, s.unit, s.profile, k?.runtime)}${objs} (${formatValue(s.firstValue, s.unit)} → ${formatValue(s.lastValue, s.unit)}${share}), ` +
    `confidence ${s.confidence.toFixed(3)} (Mann–Kendall p=${s.pValue.toPrecision(2)}), first detected at sample ${s.firstDetectedSample}` +
    (t0 !== undefined ? ` (${formatDuration(s.firstDetectedMs - t0)} in)` : '')
  );
}

function groupLine(g: SnapshotLeakGroup): string {
  const loc = describeLocation(g.location);
  const path = describePath(g.retainerPath);
  return `${g.className} ×${g.count} (${growthText(g.growth)}), retained ${formatValue(g.retainedSize, 'bytes')}${loc ? ` at ${loc}` : ''}${path ? `\n      retained by: ${path}` : ''}`;
}

function growthText(g: number[] | number): string {
  return Array.isArray(g) ? g.join(' → ') : `+${g}`;
}

function describeLocation(l: unknown): string {
  if (l === undefined || l === null) return '';
  if (typeof l === 'string') return l;
  if (typeof l === 'object') {
    const o = l as Record<string, unknown>;
    const file = o.file ?? o.url ?? o.script ?? o.scriptName;
    const line = o.line ?? o.lineNumber;
    const col = o.column ?? o.columnNumber;
    if (file !== undefined) return `${String(file)}${line !== undefined ? `:${String(line)}` : ''}${col !== undefined ? `:${String(col)}` : ''}`;
  }
  return JSON.stringify(l);
}

function describePath(p: unknown): string {
  if (p === undefined || p === null) return '';
  if (typeof p === 'string') return p;
  if (Array.isArray(p)) return p.map((x) => (typeof x === 'string' ? x : describeLocation(x) || JSON.stringify(x))).join(' → ');
  return JSON.stringify(p);
}

function header(a: LeakAnalysis, meta: ReportMeta): string[] {
  const kinds = a.kinds.map((k) => kindLabel(k)).join(', ');
  const lines = [`leakscope: ${meta.target}`];
  lines.push(
    `  ${meta.samples} sample${meta.samples === 1 ? '' : 's'} of ${kinds || 'nothing'} over ${formatDuration(meta.durationMs)}` +
      `${meta.gaps > 0 ? `, ${meta.gaps} failed poll${meta.gaps === 1 ? '' : 's'}` : ''}, sensitivity ${a.sensitivity}`,
  );
  for (const k of a.kinds) {
    const restarts = k.segments.length - 1;
    const first = k.totals[0] ?? 0;
    const last = k.totals[k.totals.length - 1] ?? 0;
    lines.push(
      `  ${kindLabel(k).padEnd(9)} ${formatValue(first, k.unit)} → ${formatValue(last, k.unit)}${k.unit === 'count' ? countWord(k.kind, k.runtime) : ''}  ${sparkline(k.totals, 32)}` +
        (restarts > 0
          ? `  (${restarts} restart${restarts === 1 ? '' : 's'}: ${k.segments.slice(1).map((s) => s.reason).join(', ')}; ` +
            `segment ${k.analyzed ? k.segments.indexOf(k.analyzed) + 1 : '?'} of ${k.segments.length} analyzed)`
          : ''),
    );
  }
  if (meta.runDir) lines.push(`  run directory: ${meta.runDir}`);
  return lines;
}

/** Lines that explain a "No leak" (or a heap with no heap suspect) that may be resolution. */
function resolutionLines(a: LeakAnalysis): string[] {
  const out: string[] = [];
  for (const k of a.kinds) {
    if (k.kind !== 'heap' || a.suspects.some((s) => s.profile === 'heap')) continue;
    const d = minDetectable(k);
    if (k.totalVerdict === 'leak') {
      out.push(
        `The heap as a whole grew steadily (${formatRate(k.totalSlopePerMinute, k.unit, k.kind)}) but no site of your code did: ` +
          `the growth may be spread over many sites or sit outside your code (see below); --snapshots names what holds it.`,
      );
    }
    if (d && k.samplingInterval !== undefined) {
      const knob = k.runtime === 'node' ? 'LEAKSCOPE_HEAP_INTERVAL for the agent' : k.runtime === 'go' ? 'runtime.MemProfileRate in the service' : 'the sampling rate';
      out.push(
        `Resolution: the heap sampler records about one allocation per ${formatValue(k.samplingInterval, 'bytes')}, so a site must grow by ` +
          `${formatValue(d.bytes, 'bytes')} or more to be judged; over the ${formatDuration(d.spanMs)} analyzed that is a leak of about ` +
          `${formatValue(d.perMinute, 'bytes')}/min. A slower leak needs a longer watch (--duration) or a finer sampler (${knob}).`,
      );
    }
  }
  return out;
}

function nearMissLine(m: NearMiss, a: LeakAnalysis): string {
  const k = kindOf(a, m.profile);
  const label = k ? kindLabel(k) : m.profile;
  return `${label.padEnd(9)} ${site(m)}  ${formatRate(m.slopePerMinute, m.unit, m.profile, k?.runtime)} (${formatValue(m.first, m.unit)} → ${formatValue(m.last, m.unit)}): ${whyNot(m, k)}`;
}

function heldText(m: NearMiss, a: LeakAnalysis): string {
  const k = kindOf(a, m.profile);
  const t = k?.clock && m.heldAtMs !== undefined ? ` (${formatDuration(m.heldAtMs - k.times[0]!)} in)` : '';
  return `confirmed at sample ${m.heldAtSample}${t}, not at the end: ${whyNot(m, k)}`;
}

/** The text report (default). */
export function renderLeakText(a: LeakAnalysis, meta: ReportMeta): string {
  const lines = header(a, meta);
  lines.push('');
  const kindTotal = new Map(a.kinds.map((k) => [k.kind, k.totals[k.totals.length - 1]]));
  const needs = verdictNeeds(a);
  if (needs) lines.push(needs);
  else if (a.suspects.length === 0) lines.push('No leak: nothing in your code grew steadily enough to be a leak.');
  else {
    lines.push(`${a.suspects.length} leak suspect${a.suspects.length === 1 ? '' : 's'}:`);
    a.suspects.forEach((s, i) => {
      const k = kindOf(a, s.profile);
      lines.push('');
      lines.push(`${String(i + 1).padStart(2)}. ${suspectHeadline(s, k)}`);
      lines.push(`    ${suspectDetail(s, k, kindTotal.get(s.profile), k?.clock ? k.times[0] : undefined)}`);
      if (s.configuredAt) lines.push(`    ${configuredLine(s)}`);
      if (s.snapshotConfirmed && !s.snapshotOnly) lines.push(`    confirmed by the heap snapshots: ${s.snapshotConfirmed}`);
      if (s.callers && s.callers.length > 0) {
        const shown = s.callers.slice(0, 6).map((c) => `${c.name} at ${where(c)}`);
        lines.push(`    also called into from: ${shown.join(', ')}${s.callers.length > shown.length ? `, … ${s.callers.length - shown.length} more` : ''}`);
      }
      const st = s.stack.slice(0, 8);
      if (st.length > 0) {
        lines.push(`    stack: ${st[0]}`);
        for (const f of st.slice(1)) lines.push(`           ← ${f}`);
        if (s.stack.length > st.length) lines.push(`           ← … ${s.stack.length - st.length} more`);
      }
    });
  }
  if (!needs) {
    const held = a.nearMisses.filter((m) => m.heldAtSample !== undefined);
    if (held.length > 0) {
      lines.push('');
      lines.push('Confirmed earlier in the run, not at the end:');
      for (const m of held) {
        const k = kindOf(a, m.profile);
        lines.push(`  - ${(k ? kindLabel(k) : m.profile).padEnd(9)} ${site(m)}: ${heldText(m, a)}`);
      }
    }
    if (a.outside.length > 0) {
      lines.push('');
      lines.push('Also growing outside your code (no frame of yours in the stack; ranked below every site of yours):');
      for (const s of a.outside) {
        const k = kindOf(a, s.profile);
        const who = s.origin === 'runtime' ? 'the runtime' : 'a library';
        lines.push(`  - ${(k ? kindLabel(k) : s.profile).padEnd(9)} ${site(s)}  ${formatRate(s.growthPerMinute, s.unit, s.profile, k?.runtime)} (${who})`);
      }
    }
    const near = a.nearMisses.filter((m) => m.heldAtSample === undefined);
    if (near.length > 0) {
      lines.push('');
      lines.push('Near misses (grew, but failed a rule of the verdict):');
      for (const m of near) lines.push(`  - ${nearMissLine(m, a)}`);
    }
    const short = a.kinds.filter((k) => (k.analyzed ? k.analyzed.to - k.analyzed.from : 0) < a.minSamples);
    if (short.length > 0) {
      lines.push('');
      for (const k of short) {
        const n = k.analyzed ? k.analyzed.to - k.analyzed.from : 0;
        lines.push(`No verdict on ${kindLabel(k)}: ${n} sample${n === 1 ? '' : 's'}, at least ${a.minSamples} needed${k.kind === 'promises' ? ' (pending promises are polled every third interval at most)' : ''}.`);
      }
    }
    const res = resolutionLines(a);
    if (res.length > 0) {
      lines.push('');
      for (const r of res) lines.push(r);
    }
  }
  if (meta.snapshotLeaks) {
    lines.push('');
    // watch takes four; a run directory of an older version holds three
    const n = Math.max(0, ...meta.snapshotLeaks.map((g) => (Array.isArray(g.growth) ? g.growth.length : 0)));
    const count = ['', 'one', 'two', 'three', 'four', 'five', 'six'][n] ?? String(n);
    if (meta.snapshotLeaks.length === 0) lines.push('Heap snapshots: no class grew across the snapshots.');
    else {
      lines.push(`Heap snapshots (${count ? `${count}, ` : ''}through the agent) — growing classes:`);
      for (const g of meta.snapshotLeaks) lines.push(`  - ${groupLine(g)}`);
    }
  }
  for (const n of meta.notes ?? []) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/`/g, "'");
}

/** Markdown, for CI comments. */
export function renderLeakMarkdown(a: LeakAnalysis, meta: ReportMeta): string {
  const lines: string[] = [];
  const needs = verdictNeeds(a);
  const title = needs ? 'no verdict yet' : a.suspects.length === 0 ? 'no leak' : `${a.suspects.length} leak suspect${a.suspects.length === 1 ? '' : 's'}`;
  lines.push(`### leakscope: ${title}`);
  lines.push('');
  lines.push(
    `${meta.samples} samples of ${a.kinds.map((k) => kindLabel(k)).join(', ')} over ${formatDuration(meta.durationMs)} from \`${mdEscape(meta.target)}\`` +
      `${meta.gaps > 0 ? ` (${meta.gaps} failed polls)` : ''}; sensitivity ${a.sensitivity}.` +
      (meta.runDir ? ` Run directory: \`${mdEscape(meta.runDir)}\`.` : ''),
  );
  if (needs) lines.push('', needs + '.');
  if (a.suspects.length > 0) {
    lines.push('');
    lines.push('| # | kind | function | location | growth/min | over the run | confidence |');
    lines.push('|---|---|---|---|---|---|---|');
    a.suspects.forEach((s, i) => {
      lines.push(
        `| ${i + 1} | ${kindLabel(kindOf(a, s.profile) ?? { kind: s.profile, runtime: undefined })}${s.resource ? ` (${s.resource})` : ''} | \`${mdEscape(s.name)}\` | \`${mdEscape(where(s))}\`${s.library ? ` inside \`${mdEscape(s.library.name)}\` at \`${mdEscape(where(s.library))}\`` : ''}${s.configuredAt ? `; configured at \`${mdEscape(where(s.configuredAt))}\`` : ''} | ${formatRate(s.growthPerMinute, s.unit, s.profile, kindOf(a, s.profile)?.runtime)} | ` +
          `${formatValue(s.firstValue, s.unit)} → ${formatValue(s.lastValue, s.unit)} | ${s.confidence.toFixed(3)} |`,
      );
    });
    lines.push('');
    lines.push('<details><summary>Stacks</summary>');
    lines.push('');
    a.suspects.forEach((s, i) => {
      lines.push(`${i + 1}. \`${mdEscape(s.name)}\``);
      lines.push('');
      lines.push('   ```');
      for (const f of s.stack.slice(0, 12)) lines.push(`   ${f}`);
      lines.push('   ```');
    });
    lines.push('');
    lines.push('</details>');
  }
  if (!needs) {
    const other = [
      ...a.nearMisses.filter((m) => m.heldAtSample !== undefined).map((m) => `- confirmed earlier: \`${mdEscape(site(m))}\`: ${mdEscape(heldText(m, a))}`),
      ...a.outside.map((s) => `- outside your code: \`${mdEscape(site(s))}\` ${formatRate(s.growthPerMinute, s.unit, s.profile, kindOf(a, s.profile)?.runtime)}`),
      ...a.nearMisses.filter((m) => m.heldAtSample === undefined).map((m) => `- near miss: \`${mdEscape(site(m))}\`: ${mdEscape(whyNot(m, kindOf(a, m.profile)))}`),
      ...resolutionLines(a).map((r) => `- ${mdEscape(r)}`),
    ];
    if (other.length > 0) lines.push('', ...other);
  }
  if (meta.snapshotLeaks && meta.snapshotLeaks.length > 0) {
    lines.push('');
    lines.push('| class | count | growth | retained | location | retained by |');
    lines.push('|---|---|---|---|---|---|');
    for (const g of meta.snapshotLeaks) {
      lines.push(
        `| \`${mdEscape(g.className)}\` | ${g.count} | ${growthText(g.growth)} | ${formatValue(g.retainedSize, 'bytes')} | ${mdEscape(describeLocation(g.location))} | ${mdEscape(describePath(g.retainerPath))} |`,
      );
    }
  }
  for (const n of meta.notes ?? []) lines.push('', `> ${mdEscape(n)}`);
  return lines.join('\n') + '\n';
}

export interface LiveState {
  target: string;
  runDir: string;
  elapsedMs: number;
  /** planned duration, when given */
  durationMs?: number;
  samples: number;
  gaps: number;
  /** the latest problem (a failed poll, a restart), shown once */
  status?: string;
  analysis: LeakAnalysis;
  /** terminal width */
  columns?: number;
}

function trendLine(t: SiteTrend, width: number, k: KindSummary | undefined): string {
  const mark = t.origin === 'user' ? '' : ` (${t.origin === 'runtime' ? 'runtime' : 'library'})`;
  const s = `  ${formatRate(t.slopePerMinute, t.unit, t.profile, k?.runtime).padStart(16)}  ${(k ? kindLabel(k) : t.profile).padEnd(9)} ${site(t)}${mark}`;
  return s.length > width ? s.slice(0, width - 1) + '…' : s;
}

/** One frame of the live view (the caller clears the screen and writes it). */
export function renderLiveView(st: LiveState): string {
  const width = Math.max(40, Math.min(st.columns ?? 100, 160));
  const a = st.analysis;
  const lines: string[] = [];
  const planned = st.durationMs !== undefined ? ` / ${formatDuration(st.durationMs)}` : '';
  lines.push(`leakscope watch ${st.target}`);
  lines.push(`  elapsed ${formatDuration(st.elapsedMs)}${planned}   samples ${st.samples}   failed polls ${st.gaps}   Ctrl-C: stop and report`);
  lines.push(`  run directory ${st.runDir}`);
  for (const k of a.kinds) {
    const last = k.totals[k.totals.length - 1] ?? 0;
    lines.push(`  ${kindLabel(k).padEnd(9)} ${formatValue(last, k.unit).padStart(9)}${k.unit === 'count' ? countWord(k.kind, k.runtime) : ''}  ${sparkline(k.totals, Math.min(48, width - 30))}`);
  }
  lines.push('');
  lines.push('Growing fastest:');
  if (a.growing.length === 0) lines.push('  (nothing growing yet)');
  for (const t of a.growing) lines.push(trendLine(t, width, kindOf(a, t.profile)));
  lines.push('');
  const needs = verdictNeeds(a);
  if (needs) lines.push(`Suspects: ${needs}`);
  else if (a.suspects.length === 0) lines.push('Suspects: none so far');
  else {
    lines.push('Suspects:');
    for (const s of a.suspects) {
      const k = kindOf(a, s.profile);
      const l = `  ${(k ? kindLabel(k) : s.profile).padEnd(9)} ${site(s)}  ${formatRate(s.growthPerMinute, s.unit, s.profile, k?.runtime)}  confidence ${s.confidence.toFixed(3)}`;
      lines.push(l.length > width ? l.slice(0, width - 1) + '…' : l);
    }
  }
  if (a.outside.length > 0) lines.push(`  (${a.outside.length} more growing outside your code: a library's or the runtime's own)`);
  if (st.status) lines.push('', st.status);
  return lines.join('\n') + '\n';
}

/** One plain log line per poll, for a non-TTY stdout. */
export function renderLogLine(st: LiveState): string {
  const totals = st.analysis.kinds.map((k) => `${k.kind} ${formatValue(k.totals[k.totals.length - 1] ?? 0, k.unit)}`).join(', ');
  const sus = st.analysis.suspects.map((s) => s.name);
  return (
    `[${formatDuration(st.elapsedMs)}] sample ${st.samples}: ${totals || 'no data'}` +
    (sus.length > 0 ? `; suspects: ${sus.join(', ')}` : '') +
    (st.status ? `; ${st.status}` : '') +
    '\n'
  );
}
