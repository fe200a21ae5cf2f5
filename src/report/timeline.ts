/**
 * Heap over time for a `watch` run: the data behind `leakscope web <run-dir>` (and `watch --http`).
 * Pure: it takes the run's index lines, its observations (one summary per saved profile) and the
 * leak analysis `analyze` makes of them, and returns plain JSON for the charts — the totals per
 * sample type per poll, the fastest-growing sites as series, the suspects (exactly `analyze
 * --json`'s, plus the profile files that open their flame graphs), gaps and restarts.
 */
import type { LeakAnalysis, Observation } from '../core/leak/analyze.js';
import type { LeakKind, LeakUnit } from '../core/leak/summary.js';
import { leakReportJson, type JsonReport, type JsonSuspect, type ReportMeta } from './watch.js';

/** one line of a run's index.jsonl (node/run-dir.ts's IndexEntry, as far as this needs it) */
export interface TimelineEntry {
  seq: number;
  timeMs: number;
  profile: LeakKind;
  file?: string;
  totals?: Record<string, number>;
  segment: number;
  gap?: boolean;
  error?: string;
  restart?: string;
}

export interface TimelinePoint {
  timeMs: number;
  /** profile file name inside the run directory */
  file: string;
  segment: number;
  /** this sample began a new segment (the target restarted), for this reason */
  restart?: string;
  /** total per sample type (from the index) */
  totals: Record<string, number>;
}

export interface TimelineSite {
  name: string;
  file: string;
  line: number;
  /** the verdict on its series (`leak` for a suspect) */
  verdict: string;
  slopePerMinute: number;
  suspect: boolean;
  /** the site's value at each point of its kind (the primary sample type; absent from a profile: 0) */
  values: (number | null)[];
}

export interface TimelineSuspect extends JsonSuspect {
  /** first and last profile of the analyzed segment: the suspect's diff flame graph */
  segmentFirstFile: string;
  segmentLastFile: string;
  /** the profile at which the verdict first held, and its time */
  firstDetectedFile: string;
  firstDetectedMs: number;
}

export interface TimelineKind {
  kind: LeakKind;
  unit: LeakUnit;
  /** sample types found in the totals, the primary (the one the analysis uses) first */
  sampleTypes: string[];
  points: TimelinePoint[];
  gaps: { timeMs: number; error: string }[];
  /** analyzed segment's time span */
  analyzedFromMs: number | null;
  analyzedToMs: number | null;
  sites: TimelineSite[];
}

export interface TimelineData {
  title: string;
  target: string;
  runDir: string;
  /** exactly `leakscope analyze --json <run-dir>` */
  report: JsonReport;
  kinds: TimelineKind[];
  suspects: TimelineSuspect[];
  /** files or lines that could not be read (each skipped) */
  errors: string[];
  /** bumped by the server whenever the run directory changed */
  version: number;
  /** the profiles are still being read and analysed: totals only (from the index), no sites,
   * no suspects yet (the page asks again) */
  pending: boolean;
}

const PRIMARY: Record<LeakKind, string[]> = { heap: ['inuse_space', 'space'], goroutine: ['goroutine', 'goroutines'], async: [], promises: [] };

export interface TimelineInput {
  title: string;
  target: string;
  runDir: string;
  entries: TimelineEntry[];
  observations: Observation[];
  analysis: LeakAnalysis;
  meta: ReportMeta;
  pending?: boolean;
  errors: string[];
  version: number;
  /** growing sites to show per kind besides the suspects (default 6) */
  sitesPerKind?: number;
}

const baseName = (f: string) => f.slice(Math.max(f.lastIndexOf('/'), f.lastIndexOf('\\')) + 1);

export function timelineData(inp: TimelineInput): TimelineData {
  const report = leakReportJson(inp.analysis, inp.meta);
  const kinds: TimelineKind[] = [];
  const suspects: TimelineSuspect[] = [];
  const perKind = inp.sitesPerKind ?? 6;
  for (const ks of inp.analysis.kinds) {
    const obs = inp.observations.filter((o) => o.kind === ks.kind);
    // the points: observations as loaded (only files that were read), with their index line's totals
    const byFile = new Map<string, TimelineEntry>();
    for (const e of inp.entries) if (e.file && e.profile === ks.kind) byFile.set(e.file, e);
    const points: TimelinePoint[] = obs.map((o) => {
      const file = baseName(o.file ?? '');
      const e = byFile.get(file);
      return {
        timeMs: Number.isFinite(o.timeMs) ? o.timeMs : o.summary.profileTimeMs,
        file,
        segment: o.segment ?? 0,
        ...(e?.restart ? { restart: e.restart } : {}),
        totals: e?.totals ?? { [ks.kind]: o.summary.total },
      };
    });
    const types: string[] = [];
    for (const p of points) for (const t of Object.keys(p.totals)) if (!types.includes(t)) types.push(t);
    const primary = PRIMARY[ks.kind].find((t) => types.includes(t));
    if (primary) types.splice(types.indexOf(primary), 1), types.unshift(primary);
    const gaps = inp.entries.filter((e) => e.gap && e.profile === ks.kind).map((e) => ({ timeMs: e.timeMs, error: e.error ?? 'poll failed' }));

    // the sites: this kind's suspects, then its fastest-growing others
    const fnKeys = new Map<string, string>();
    for (const o of obs) for (const info of o.summary.sites.values()) if (info.level === 'function' && !fnKeys.has(info.name)) fnKeys.set(info.name, info.key);
    const sites: TimelineSite[] = [];
    const series = (name: string) => {
      const key = fnKeys.get(name);
      // absent from a profile: 0, as the analysis counts it
      return obs.map((o) => (key === undefined ? null : (o.summary.values.get(key) ?? 0)));
    };
    for (const s of inp.analysis.suspects) {
      if (s.profile !== ks.kind) continue;
      sites.push({ name: s.name, file: s.file, line: s.line, verdict: 'leak', slopePerMinute: s.growthPerMinute, suspect: true, values: series(s.name) });
    }
    let extra = 0;
    for (const g of inp.analysis.growing) {
      if (g.profile !== ks.kind || extra >= perKind || sites.some((s) => s.name === g.name)) continue;
      extra++;
      sites.push({ name: g.name, file: g.file, line: g.line, verdict: g.verdict, slopePerMinute: g.slopePerMinute, suspect: false, values: series(g.name) });
    }
    const seg = ks.analyzed;
    kinds.push({
      kind: ks.kind,
      unit: ks.unit,
      sampleTypes: types,
      points,
      gaps,
      analyzedFromMs: seg ? points[seg.from]?.timeMs ?? null : null,
      analyzedToMs: seg ? points[seg.to - 1]?.timeMs ?? null : null,
      sites,
    });
    if (!seg) continue;
    inp.analysis.suspects.forEach((s, i) => {
      if (s.profile !== ks.kind) return;
      const detected = points[seg.from + s.firstDetectedSample - 1] ?? points[seg.to - 1]!;
      suspects.push({
        ...report.suspects[i]!,
        segmentFirstFile: points[seg.from]!.file,
        segmentLastFile: points[seg.to - 1]!.file,
        firstDetectedFile: detected.file,
        firstDetectedMs: detected.timeMs,
      });
    });
  }
  // in the report's order (the ranking)
  suspects.sort((a, b) => report.suspects.findIndex((s) => s.name === a.name && s.profile === a.profile) - report.suspects.findIndex((s) => s.name === b.name && s.profile === b.profile));
  return { title: inp.title, target: inp.target, runDir: inp.runDir, report, kinds, suspects, errors: inp.errors, version: inp.version, pending: inp.pending ?? false };
}

/**
 * The totals alone, from the index lines (no profile read): what the page draws while the run's
 * profiles are read and analysed. Points are the index's profile lines; kinds in analyze's order.
 */
export function timelineFromIndex(inp: { title: string; target: string; runDir: string; entries: TimelineEntry[]; version: number; minSamples: number; sensitivity: string }): TimelineData {
  const kinds: TimelineKind[] = [];
  for (const kind of ['heap', 'goroutine', 'async', 'promises'] as LeakKind[]) {
    const es = inp.entries.filter((e) => e.profile === kind);
    const points: TimelinePoint[] = es.filter((e) => e.file && e.totals).map((e) => ({ timeMs: e.timeMs, file: e.file!, segment: e.segment, ...(e.restart ? { restart: e.restart } : {}), totals: e.totals! }));
    if (points.length === 0) continue;
    const types: string[] = [];
    for (const p of points) for (const t of Object.keys(p.totals)) if (!types.includes(t)) types.push(t);
    const primary = PRIMARY[kind].find((t) => types.includes(t));
    if (primary) types.splice(types.indexOf(primary), 1), types.unshift(primary);
    const gaps = es.filter((e) => e.gap).map((e) => ({ timeMs: e.timeMs, error: e.error ?? 'poll failed' }));
    kinds.push({ kind, unit: kind === 'heap' ? 'bytes' : 'count', sampleTypes: types, points, gaps, analyzedFromMs: null, analyzedToMs: null, sites: [] });
  }
  const perKind = kinds.map((k) => k.points.length);
  const times = kinds.flatMap((k) => k.points.map((p) => p.timeMs));
  const report: JsonReport = {
    target: inp.target,
    samples: perKind.length > 0 ? Math.max(...perKind) : 0,
    runDir: inp.runDir,
    durationMs: times.length > 1 ? Math.max(...times) - Math.min(...times) : 0,
    gaps: inp.entries.filter((e) => e.gap).length,
    sensitivity: inp.sensitivity,
    minSamples: inp.minSamples,
    segments: kinds.map((k) => {
      const restarts = k.points.filter((p, i) => i > 0 && p.segment !== k.points[i - 1]!.segment).map((p) => p.restart ?? 'collector');
      return { profile: k.kind, count: restarts.length + 1, analyzedSamples: 0, restarts };
    }),
    profiles: [],
    suspects: [],
    outside: [],
    nearMisses: [],
    notes: [],
  };
  return { title: inp.title, target: inp.target, runDir: inp.runDir, report, kinds, suspects: [], errors: [], version: inp.version, pending: true };
}
