/**
 * From a run of profile summaries to ranked leak suspects.
 *
 * Input: observations (one profile summary each, with its poll time), of any kinds, in time order.
 * Per kind the observations are split into segments at process restarts; the latest segment with
 * enough samples is analyzed (else the longest). Within it every function-level site gets a time
 * series (absent → 0) that goes through `judgeSeries`; a confirmed function becomes a suspect named
 * by its dominant line and dominant stack.
 */
import type { LeakKind, LeakUnit, ProfileSummary, SiteInfo } from './summary.js';
import { judgeSeries, verdictParams, type Sensitivity, type Verdict, type VerdictParams } from './verdict.js';
import { theilSen } from './stats.js';

export interface Observation {
  kind: LeakKind;
  /** poll time, ms since the epoch; NaN → the profile's time_nanos, else the sample index (minutes) */
  timeMs: number;
  summary: ProfileSummary;
  file?: string;
  /** one or more polls failed right before this one */
  gapBefore?: boolean;
  /** segment assigned by the collector (watch); detected when absent */
  segment?: number;
  /** why the collector began a new segment at this observation (with `segment`) */
  restartReason?: RestartReason;
  /** process start time when the target reports one (ms); a change marks a restart */
  startTimeMs?: number;
}

export type RestartReason = 'time-reversed' | 'cumulative-drop' | 'start-time-changed' | 'total-drop-after-gap';

/**
 * Did the process restart between `prev` and `cur`? Signals, strongest first: time_nanos went
 * backwards; a cumulative total (alloc_space, which never shrinks within a process) dropped; the
 * reported start time changed; or, after a gap in polling, the total fell below half.
 */
export function restartBetween(prev: Observation, cur: Observation, gapBefore: boolean): RestartReason | undefined {
  const a = prev.summary;
  const b = cur.summary;
  if (Number.isFinite(a.profileTimeMs) && Number.isFinite(b.profileTimeMs) && b.profileTimeMs < a.profileTimeMs) return 'time-reversed';
  if (Number.isFinite(a.cumulative) && Number.isFinite(b.cumulative) && b.cumulative < a.cumulative * 0.999) return 'cumulative-drop';
  if (prev.startTimeMs !== undefined && cur.startTimeMs !== undefined && prev.startTimeMs !== cur.startTimeMs) return 'start-time-changed';
  if (gapBefore && b.total < 0.5 * a.total) return 'total-drop-after-gap';
  return undefined;
}

export interface Segment {
  kind: LeakKind;
  /** index of the first observation of this kind in the segment, and one past the last */
  from: number;
  to: number;
  startMs: number;
  endMs: number;
  /** why the segment began */
  reason: 'start' | RestartReason | 'collector';
}

export interface SiteTrend {
  profile: LeakKind;
  name: string;
  file: string;
  line: number;
  unit: LeakUnit;
  /** Theil–Sen slope per minute over the analyzed segment */
  slopePerMinute: number;
  first: number;
  last: number;
  verdict: Verdict['reason'];
}

export interface Suspect {
  profile: LeakKind;
  name: string;
  file: string;
  line: number;
  /** dominant stack, leaf first, frames as `name file:line` */
  stack: string[];
  growthPerMinute: number;
  unit: LeakUnit;
  /** 1 − Mann–Kendall one-sided p-value */
  confidence: number;
  pValue: number;
  tau: number;
  /** growth over the analyzed segment (Theil–Sen slope × span) */
  totalGrowth: number;
  firstValue: number;
  lastValue: number;
  /** objects per minute for heap suspects whose profile has an objects type */
  objectsPerMinute?: number;
  /** 1-based sample number (within the segment) at which the verdict first held */
  firstDetectedSample: number;
  firstDetectedMs: number;
  /** share of the kind's total at the last sample */
  share: number;
}

export interface KindSummary {
  kind: LeakKind;
  unit: LeakUnit;
  samples: number;
  segments: Segment[];
  analyzed: Segment | undefined;
  /** times (ms or sample index) and totals of the analyzed segment */
  times: number[];
  totals: number[];
  /** whether times are real clock times (false: sample indices stand in for minutes) */
  clock: boolean;
}

export interface LeakAnalysis {
  sensitivity: Sensitivity;
  minSamples: number;
  /** observations of all kinds */
  samples: number;
  kinds: KindSummary[];
  suspects: Suspect[];
  /** the fastest-growing function sites, confirmed or not (for the live view) */
  growing: SiteTrend[];
}

export interface LeakOptions {
  sensitivity?: Sensitivity;
  minSamples?: number;
  /** how many growing sites to list (default 5) */
  growingLimit?: number;
  /** longer segments are thinned to this many evenly spaced samples (default 400) */
  maxPoints?: number;
  /** compute the first sample at which each suspect's verdict held (default true) */
  firstDetected?: boolean;
}

const KIND_ORDER: LeakKind[] = ['heap', 'goroutine', 'async'];

function olsSlope(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

function obsTime(o: Observation): number {
  return Number.isFinite(o.timeMs) ? o.timeMs : o.summary.profileTimeMs;
}

/** Splits one kind's observations into segments (restarts), honouring collector-assigned ones. */
export function segmentObservations(obs: Observation[]): Segment[] {
  if (obs.length === 0) return [];
  const kind = obs[0]!.kind;
  const times = obs.map(obsTime);
  const dts: number[] = [];
  for (let i = 1; i < times.length; i++) if (Number.isFinite(times[i]!) && Number.isFinite(times[i - 1]!)) dts.push(times[i]! - times[i - 1]!);
  const medDt = dts.length > 0 ? dts.slice().sort((a, b) => a - b)[dts.length >> 1]! : NaN;
  const segs: Segment[] = [];
  let start = 0;
  let reason: Segment['reason'] = 'start';
  const close = (end: number) => {
    segs.push({ kind, from: start, to: end, startMs: times[start]!, endMs: times[end - 1]!, reason });
  };
  for (let i = 1; i < obs.length; i++) {
    const prev = obs[i - 1]!;
    const cur = obs[i]!;
    let r: Segment['reason'] | undefined;
    if (prev.segment !== undefined && cur.segment !== undefined) {
      if (cur.segment !== prev.segment) r = cur.restartReason ?? 'collector';
    } else {
      const inferredGap = Number.isFinite(medDt) && medDt > 0 && times[i]! - times[i - 1]! > 3 * medDt;
      r = restartBetween(prev, cur, Boolean(cur.gapBefore) || inferredGap);
    }
    if (r) {
      close(i);
      start = i;
      reason = r;
    }
  }
  close(obs.length);
  return segs;
}

interface Catalog {
  sites: Map<string, SiteInfo>;
}

function pickSegment(segs: Segment[], minSamples: number): Segment | undefined {
  if (segs.length === 0) return undefined;
  const last = segs[segs.length - 1]!;
  if (last.to - last.from >= minSamples) return last;
  let best = segs[0]!;
  for (const s of segs) if (s.to - s.from > best.to - best.from) best = s;
  return best.to - best.from > last.to - last.from ? best : last;
}

/** The whole analysis. Pure; cost O(kinds × function sites × n²) after cheap gates. */
export function analyzeLeaks(observations: Observation[], opts: LeakOptions = {}): LeakAnalysis {
  const sensitivity = opts.sensitivity ?? 'normal';
  const params = verdictParams(sensitivity, opts.minSamples);
  const kinds: KindSummary[] = [];
  const suspects: Suspect[] = [];
  const growing: SiteTrend[] = [];
  for (const kind of KIND_ORDER) {
    const obs = observations.filter((o) => o.kind === kind);
    if (obs.length === 0) continue;
    const segments = segmentObservations(obs);
    const seg = pickSegment(segments, params.minSamples)!;
    // Long runs are thinned to at most maxPoints evenly spaced samples (first and last kept): the
    // trend statistics are O(n²) and gain nothing from thousands of points.
    const segLen = seg.to - seg.from;
    const maxPoints = Math.max(params.minSamples, opts.maxPoints ?? 400);
    const picked: number[] = [];
    if (segLen <= maxPoints) for (let i = 0; i < segLen; i++) picked.push(i);
    else for (let i = 0; i < maxPoints; i++) picked.push(Math.round((i * (segLen - 1)) / (maxPoints - 1)));
    const part = picked.map((i) => obs[seg.from + i]!);
    const n = part.length;
    const rawTimes = part.map(obsTime);
    const clock = rawTimes.every((t) => Number.isFinite(t));
    const t0 = clock ? rawTimes[0]! : 0;
    // x in minutes from the segment start; without clock times, one sample = one minute.
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = clock ? (rawTimes[i]! - t0) / 60000 : i;
    const totals = part.map((o) => o.summary.total);
    const unit = part[n - 1]!.summary.unit;
    kinds.push({ kind, unit, samples: obs.length, segments, analyzed: seg, times: clock ? rawTimes : rawTimes.map((_, i) => i), totals, clock });

    const catalog: Catalog = { sites: new Map() };
    const seenMaps = new Set<Map<string, SiteInfo>>();
    for (const o of part) {
      if (seenMaps.has(o.summary.sites)) continue; // a catalog shared by the run's summaries
      seenMaps.add(o.summary.sites);
      for (const [k, info] of o.summary.sites) if (!catalog.sites.has(k)) catalog.sites.set(k, info);
    }
    const series = (key: string, objects = false): Float64Array => {
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const m = objects ? part[i]!.summary.objects : part[i]!.summary.values;
        y[i] = m?.get(key) ?? 0;
      }
      return y;
    };
    const lastTotal = totals[n - 1]!;
    const byFn = new Map<string, SiteInfo[]>();
    for (const info of catalog.sites.values()) {
      if (info.level === 'function') continue;
      let list = byFn.get(info.fnKey);
      if (!list) byFn.set(info.fnKey, (list = []));
      list.push(info);
    }
    for (const info of catalog.sites.values()) {
      if (info.level !== 'function') continue;
      const y = series(info.key);
      const v = judgeSeries(x, y, lastTotal, unit, params);
      // For the live "growing fastest" list an ordinary least-squares slope is enough (O(n));
      // verdicts never use it.
      const slope = Number.isFinite(v.slope) ? v.slope : olsSlope(x, y);
      if (slope > 0) {
        growing.push({ profile: kind, name: info.name, file: info.file, line: info.line, unit, slopePerMinute: slope, first: y[0]!, last: y[n - 1]!, verdict: v.reason });
      }
      if (!v.leak) continue;
      // Dominant line and stack: the member with the largest growth from first to last sample.
      let bestLine: SiteInfo | undefined;
      let bestLineG = -Infinity;
      let bestStack: SiteInfo | undefined;
      let bestStackG = -Infinity;
      for (const m of byFn.get(info.key) ?? []) {
        const ym = series(m.key);
        const g = ym[n - 1]! - ym[0]!;
        if (m.level === 'line' && g > bestLineG) [bestLine, bestLineG] = [m, g];
        if (m.level === 'stack' && g > bestStackG) [bestStack, bestStackG] = [m, g];
      }
      let firstDetectedSample = n;
      if (opts.firstDetected !== false) {
        for (let k = params.minSamples; k < n; k++) {
          if (judgeSeries(x, y, totals[k - 1]!, unit, params, 0, k).leak) {
            firstDetectedSample = k;
            break;
          }
        }
      }
      let objectsPerMinute: number | undefined;
      if (part[n - 1]!.summary.objects) {
        const s = theilSen(x, series(info.key, true)).slope;
        if (Number.isFinite(s)) objectsPerMinute = s;
      }
      suspects.push({
        profile: kind,
        name: info.name,
        file: bestLine?.file ?? info.file,
        line: bestLine?.line ?? info.line,
        stack: bestStack?.stack ?? [],
        growthPerMinute: v.slope,
        unit,
        confidence: 1 - v.p,
        pValue: v.p,
        tau: v.tau,
        totalGrowth: v.growth,
        firstValue: y[0]!,
        lastValue: y[n - 1]!,
        ...(objectsPerMinute !== undefined ? { objectsPerMinute } : {}),
        firstDetectedSample: picked[firstDetectedSample - 1]! + 1,
        firstDetectedMs: clock ? rawTimes[firstDetectedSample - 1]! : picked[firstDetectedSample - 1]!,
        share: lastTotal > 0 ? y[n - 1]! / lastTotal : 0,
      });
    }
  }
  // Rank: growth as a share of the kind's total first (a goroutine leak that is all goroutines
  // outranks a 2% heap creep), then confidence.
  const kindTotal = new Map(kinds.map((k) => [k.kind, Math.max(1e-9, k.totals[k.totals.length - 1] ?? 0)]));
  suspects.sort((a, b) => b.totalGrowth / kindTotal.get(b.profile)! - a.totalGrowth / kindTotal.get(a.profile)! || b.confidence - a.confidence || a.name.localeCompare(b.name));
  growing.sort((a, b) => b.slopePerMinute / kindTotal.get(b.profile)! - a.slopePerMinute / kindTotal.get(a.profile)!);
  return {
    sensitivity,
    minSamples: params.minSamples,
    samples: observations.length,
    kinds,
    suspects,
    growing: growing.slice(0, opts.growingLimit ?? 5),
  };
}

export type { VerdictParams };
