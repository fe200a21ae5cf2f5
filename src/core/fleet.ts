/**
 * A fleet of watched targets, ranked and grouped. Pure: each target's leak analysis (or why there
 * is none) comes in; out come the targets in rank order and the findings, i.e. the suspects that
 * several instances of one job share ("14 of 16 api instances: createSession +3 MB/min").
 *
 * Rank: targets with a suspect first (highest confidence, then fastest growth), then targets with
 * a verdict and no suspect (fastest growth of the whole heap relative to its size first), then
 * targets without enough samples for a verdict, then targets that never answered. Ties: by id.
 */
import type { LeakAnalysis, Suspect } from './leak/analyze.js';
import type { LeakKind, LeakUnit } from './leak/summary.js';

export interface FleetTargetInput {
  /** stable id (the instance, host:port, or the URL) */
  id: string;
  /** pprof base URL */
  url: string;
  /** the job label ('' when none) */
  job: string;
  labels: Record<string, string>;
  /** run directory of the target */
  dir?: string;
  /** undefined when no profile was ever fetched */
  analysis?: LeakAnalysis;
  /** poll rounds with at least one profile */
  samples: number;
  /** failed polls */
  gaps: number;
  lastError?: string;
  /** the target left discovery during the run */
  vanished?: boolean;
  /** it was failing at the end of the run */
  failingAtEnd?: boolean;
}

export type FleetStatus = 'leak' | 'ok' | 'no-verdict' | 'unreachable';

export interface FleetTarget extends FleetTargetInput {
  rank: number;
  status: FleetStatus;
  /** highest suspect confidence (0 without suspects) */
  confidence: number;
  /** the heap's growth per minute over its analyzed segment, relative to its mean (0.01 = 1%/min) */
  relativeGrowth: number;
  /** restarts seen (the most over the kinds) */
  restarts: number;
}

export interface FindingMember {
  id: string;
  growthPerMinute: number;
  confidence: number;
  line: number;
}

/** One suspect site shared by instances of a job. */
export interface FleetFinding {
  job: string;
  profile: LeakKind;
  /** the kind as shown (the agent's census is 'async' even when polled as goroutine) */
  label: string;
  name: string;
  file: string;
  /** the most common line among the members */
  line: number;
  unit: LeakUnit;
  resource?: string;
  members: FindingMember[];
  /** instances of the job with a verdict */
  of: number;
  /** instances of the job that could not be reached or gave no verdict */
  without: number;
  medianGrowthPerMinute: number;
  minGrowthPerMinute: number;
  maxGrowthPerMinute: number;
}

export interface FleetAnalysis {
  targets: FleetTarget[];
  /** shared by two or more instances of a job, most instances first */
  findings: FleetFinding[];
  counts: { targets: number; leaking: number; ok: number; noVerdict: number; unreachable: number };
}

function statusOf(t: FleetTargetInput): FleetStatus {
  const a = t.analysis;
  if (!a || t.samples === 0) return 'unreachable';
  const analyzed = a.kinds.map((k) => (k.analyzed ? k.analyzed.to - k.analyzed.from : 0));
  const best = analyzed.length > 0 ? Math.max(...analyzed) : 0;
  if (a.suspects.length > 0) return 'leak';
  if (best < a.minSamples) return 'no-verdict';
  return 'ok';
}

function relativeGrowth(a: LeakAnalysis | undefined): number {
  if (!a) return 0;
  const k = a.kinds.find((x) => x.kind === 'heap') ?? a.kinds[0];
  if (!k || k.totals.length === 0) return 0;
  let sum = 0;
  for (const v of k.totals) sum += v;
  const mean = sum / k.totals.length;
  return mean > 0 && Number.isFinite(k.totalSlopePerMinute) ? k.totalSlopePerMinute / mean : 0;
}

/** Suspects' growth in one comparable number: bytes per minute of heap suspects, else counts. */
function suspectGrowth(a: LeakAnalysis | undefined): number {
  if (!a) return 0;
  let bytes = 0;
  let counts = 0;
  for (const s of a.suspects) {
    if (s.unit === 'bytes') bytes += Math.max(0, s.growthPerMinute);
    else counts += Math.max(0, s.growthPerMinute);
  }
  return bytes > 0 ? bytes : counts;
}

const STATUS_ORDER: Record<FleetStatus, number> = { leak: 0, ok: 1, 'no-verdict': 2, unreachable: 3 };

/** Confidence to three decimals: beyond that Mann–Kendall's p says nothing a user can act on. */
const conf3 = (c: number) => Math.round(c * 1000) / 1000;

export function rankFleet(inputs: readonly FleetTargetInput[]): FleetTarget[] {
  const rows = inputs.map((t) => {
    const status = statusOf(t);
    const a = t.analysis;
    return {
      ...t,
      rank: 0,
      status,
      confidence: a && a.suspects.length > 0 ? Math.max(...a.suspects.map((s) => s.confidence)) : 0,
      relativeGrowth: relativeGrowth(a),
      restarts: a ? Math.max(0, ...a.kinds.map((k) => k.segments.length - 1)) : 0,
      growth: suspectGrowth(a),
    };
  });
  rows.sort((x, y) => {
    const s = STATUS_ORDER[x.status] - STATUS_ORDER[y.status];
    if (s !== 0) return s;
    if (x.status === 'leak') {
      const c = conf3(y.confidence) - conf3(x.confidence);
      if (c !== 0) return c;
      if (y.growth !== x.growth) return y.growth - x.growth;
    }
    if (x.status === 'leak' || x.status === 'ok') {
      if (y.relativeGrowth !== x.relativeGrowth) return y.relativeGrowth - x.relativeGrowth;
    }
    return x.id < y.id ? -1 : x.id > y.id ? 1 : 0;
  });
  return rows.map(({ growth: _g, ...r }, i) => ({ ...r, rank: i + 1 }));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function label(a: LeakAnalysis, s: Suspect): string {
  const k = a.kinds.find((x) => x.kind === s.profile);
  return s.profile === 'goroutine' && k?.runtime === 'node' ? 'async' : s.profile;
}

/** Suspects shared by two or more instances of one job, keyed by kind, function and file. */
export function groupFindings(targets: readonly FleetTarget[], minMembers = 2): FleetFinding[] {
  const byJob = new Map<string, FleetTarget[]>();
  for (const t of targets) {
    const l = byJob.get(t.job) ?? [];
    l.push(t);
    byJob.set(t.job, l);
  }
  const out: FleetFinding[] = [];
  for (const [job, members] of byJob) {
    const judged = members.filter((t) => t.status === 'leak' || t.status === 'ok');
    const groups = new Map<string, { f: Omit<FleetFinding, 'line' | 'medianGrowthPerMinute' | 'minGrowthPerMinute' | 'maxGrowthPerMinute'>; lines: Map<number, number> }>();
    for (const t of judged) {
      const a = t.analysis!;
      const seen = new Set<string>();
      for (const s of a.suspects) {
        const lab = label(a, s);
        const key = `${lab}\u0000${s.resource ?? ''}\u0000${s.name}\u0000${s.file}`;
        if (seen.has(key)) continue; // one member per instance
        seen.add(key);
        let g = groups.get(key);
        if (!g) {
          g = {
            f: { job, profile: s.profile, label: lab, name: s.name, file: s.file, unit: s.unit, ...(s.resource ? { resource: s.resource } : {}), members: [], of: judged.length, without: members.length - judged.length },
            lines: new Map(),
          };
          groups.set(key, g);
        }
        g.f.members.push({ id: t.id, growthPerMinute: s.growthPerMinute, confidence: s.confidence, line: s.line });
        g.lines.set(s.line, (g.lines.get(s.line) ?? 0) + 1);
      }
    }
    for (const { f, lines } of groups.values()) {
      if (f.members.length < minMembers) continue;
      const rates = f.members.map((m) => m.growthPerMinute);
      let line = 0;
      let best = -1;
      for (const [l, n] of lines) if (n > best || (n === best && l < line)) [line, best] = [l, n];
      f.members.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      out.push({ ...f, line, medianGrowthPerMinute: median(rates), minGrowthPerMinute: Math.min(...rates), maxGrowthPerMinute: Math.max(...rates) });
    }
  }
  out.sort(
    (x, y) =>
      y.members.length - x.members.length ||
      (x.unit === 'bytes' ? 0 : 1) - (y.unit === 'bytes' ? 0 : 1) ||
      y.medianGrowthPerMinute - x.medianGrowthPerMinute ||
      (x.job < y.job ? -1 : x.job > y.job ? 1 : 0) ||
      (x.name < y.name ? -1 : x.name > y.name ? 1 : 0),
  );
  return out;
}

export function analyzeFleet(inputs: readonly FleetTargetInput[]): FleetAnalysis {
  const targets = rankFleet(inputs);
  const count = (s: FleetStatus) => targets.filter((t) => t.status === s).length;
  return {
    targets,
    findings: groupFindings(targets),
    counts: { targets: targets.length, leaking: count('leak'), ok: count('ok'), noVerdict: count('no-verdict'), unreachable: count('unreachable') },
  };
}
