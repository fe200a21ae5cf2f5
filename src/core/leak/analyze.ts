/**
 * From a run of profile summaries to ranked leak suspects.
 *
 * Input: observations (one profile summary each, with its poll time), of any kinds, in time order.
 * Per kind the observations are split into segments at process restarts; the latest segment with
 * enough samples is analyzed (else the longest). Within it every function-level site gets a time
 * series (absent → 0) that goes through `judgeSeries`; a confirmed function becomes a suspect named
 * by its dominant line and dominant stack.
 */
import type { FrameRef, LeakKind, LeakUnit, ProfileRuntime, ProfileSummary, SiteInfo, SiteOrigin } from './summary.js';
import { judgeSeries, verdictParams, type Sensitivity, type Verdict, type VerdictParams, type VerdictReason } from './verdict.js';
import { theilSen } from './stats.js';
import { configuringPackage } from './configured.js';

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
}

export type RestartReason = 'time-reversed' | 'cumulative-drop' | 'start-time-changed' | 'total-drop-after-gap';

/**
 * Did the process restart between `prev` and `cur`? Signals, strongest first: the process start
 * the agent reports changed; time_nanos went backwards; a cumulative total (alloc_space, which
 * never shrinks within a process) dropped; or, after a gap in polling, the total fell below half.
 */
export function restartBetween(prev: Observation, cur: Observation, gapBefore: boolean): RestartReason | undefined {
  const a = prev.summary;
  const b = cur.summary;
  if (a.processStartMs !== undefined && b.processStartMs !== undefined && a.processStartMs !== b.processStartMs) return 'start-time-changed';
  if (Number.isFinite(a.profileTimeMs) && Number.isFinite(b.profileTimeMs) && b.profileTimeMs < a.profileTimeMs) return 'time-reversed';
  if (Number.isFinite(a.cumulative) && Number.isFinite(b.cumulative) && b.cumulative < a.cumulative * 0.999) return 'cumulative-drop';
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
  origin: SiteOrigin;
  library?: FrameRef;
  resource?: string;
}

/** A user site that grew but failed one rule of the verdict (shown so a "No leak" can be judged). */
export interface NearMiss {
  profile: LeakKind;
  name: string;
  file: string;
  line: number;
  unit: LeakUnit;
  library?: FrameRef;
  resource?: string;
  /** the rule it failed at the end of the run */
  reason: VerdictReason;
  slopePerMinute: number;
  /** growth over the segment (last − first sample) */
  growth: number;
  pValue: number;
  first: number;
  last: number;
  /** when the verdict held on an earlier part of the run: the 1-based sample (else undefined) */
  heldAtSample?: number;
  heldAtMs?: number;
  /** set when its verdict held but the heap snapshots explain its growth as a cache (why, in
   *  words; see snapshot-evidence.ts) */
  cache?: string;
}

export interface Suspect {
  profile: LeakKind;
  name: string;
  file: string;
  line: number;
  /** dominant stack, leaf first, frames as `name file:line` (from the innermost library frame) */
  stack: string[];
  /** user: named at the user's code; library/runtime: no user frame in the stack (see summary.ts) */
  origin: SiteOrigin;
  /** for a user site that allocates inside a library: the library's innermost frame */
  library?: FrameRef;
  /** the resource type of an async suspect (Timeout, TCPSocket, Promise…) */
  resource?: string;
  /** the package the user frame calls into on the dominant stack, when the allocation happens in
   *  a library: another package than `library`'s means the user's code reaches that library
   *  through another one (see configured.ts) */
  entryPackage?: string;
  /** for a library reached through another library: where the user's code configures it (a call
   *  of the package's export: `session({...})`), found in the user's source by the node layer */
  configuredAt?: FrameRef & { also?: FrameRef[] };
  /** a leak inside a library fed from several places in the user's code: the other user frames
   *  that call into it (the suspect's own name/file/line is the one that grew most) */
  callers?: FrameRef[];
  /** a near miss of the sampler that the heap snapshots of \`watch --snapshots\` confirm (what
   *  they show, in words; see snapshot-evidence.ts) */
  snapshotConfirmed?: string;
  /** a suspect the heap snapshots alone found (the sampler's figures below are then zero): what
   *  they counted of its group */
  snapshotOnly?: { count: number; retainedSize: number; growth: number[] };
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
  /** objects per minute for heap suspects whose profile counts objects (Go; V8's sampler counts
   *  samples, not objects, so Node heap suspects have none) */
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
  runtime: ProfileRuntime;
  /** heap sampler interval (bytes), when the profiles give it */
  samplingInterval?: number;
  /** the verdict on the kind's total over the analyzed segment */
  totalVerdict: Verdict['reason'];
  totalSlopePerMinute: number;
  /** the materiality floor of the verdict at the last sample (unit of the kind) */
  floor: number;
  /** files of the user's code seen in this kind's profiles (at most 200), for looking up where a
   *  library is configured */
  userFiles: string[];
}

export interface LeakAnalysis {
  sensitivity: Sensitivity;
  minSamples: number;
  /** observations of all kinds */
  samples: number;
  kinds: KindSummary[];
  /** confirmed sites in the user's code (async: also library callbacks, see below), ranked */
  suspects: Suspect[];
  /** confirmed sites with no user frame (a library's or the runtime's own), ranked below */
  outside: Suspect[];
  /** user sites that grew but failed a rule, largest growth first (at most `nearMissLimit`); those
   *  whose verdict held on an earlier part of the run are always listed */
  nearMisses: NearMiss[];
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
  /** compute the first sample at which each suspect's verdict held, and whether a site that is
   *  not confirmed at the end was confirmed earlier (default true) */
  firstDetected?: boolean;
  /** how many near misses to list (default 5; sites confirmed earlier are listed beyond) */
  nearMissLimit?: number;
}

const KIND_ORDER: LeakKind[] = ['heap', 'goroutine', 'async', 'promises'];

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

/** Which origins may be suspects: user code always; for count profiles (the census names a
 *  resource by its callback only, there is no creation stack to find a user frame in) a library's
 *  callback too. */
function suspectOrigin(kind: LeakKind, origin: SiteOrigin): boolean {
  return origin === 'user' || (kind !== 'heap' && origin === 'library');
}

/** Evenly spaced prefix ends in [from, to), at most `max` of them (the last always included). */
function prefixEnds(from: number, to: number, max: number): number[] {
  const out: number[] = [];
  if (to <= from) return out;
  const step = Math.max(1, Math.ceil((to - from) / max));
  for (let k = from; k < to; k += step) out.push(k);
  return out;
}

/** The whole analysis. Pure; cost O(kinds × function sites × n²) after cheap gates. */
export function analyzeLeaks(observations: Observation[], opts: LeakOptions = {}): LeakAnalysis {
  const sensitivity = opts.sensitivity ?? 'normal';
  const params = verdictParams(sensitivity, opts.minSamples);
  const kinds: KindSummary[] = [];
  const suspects: Suspect[] = [];
  const outside: Suspect[] = [];
  const near: NearMiss[] = [];
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
    const lastSummary = part[n - 1]!.summary;
    const unit = lastSummary.unit;
    const lastTotal = totals[n - 1]!;
    /** a suspect's figures: its verdict on series y, first held at point k (1-based, of `picked`) */
    const figures = (v: Verdict, y: ArrayLike<number>, k: number) => ({
      growthPerMinute: v.slope,
      unit,
      confidence: 1 - v.p,
      pValue: v.p,
      tau: v.tau,
      totalGrowth: v.growth,
      firstValue: y[0]!,
      lastValue: y[n - 1]!,
      firstDetectedSample: picked[k - 1]! + 1,
      firstDetectedMs: clock ? rawTimes[k - 1]! : picked[k - 1]!,
      share: lastTotal > 0 ? y[n - 1]! / lastTotal : 0,
    });
    const tv = judgeSeries(x, Float64Array.from(totals), lastTotal, unit, params);
    const runtime = part.find((o) => o.summary.runtime !== undefined)?.summary.runtime;
    const samplingInterval = lastSummary.samplingInterval;
    kinds.push({
      kind,
      unit,
      samples: obs.length,
      segments,
      analyzed: seg,
      times: clock ? rawTimes : rawTimes.map((_, i) => i),
      totals,
      clock,
      runtime,
      ...(samplingInterval !== undefined ? { samplingInterval } : {}),
      totalVerdict: tv.reason,
      totalSlopePerMinute: Number.isFinite(tv.slope) ? tv.slope : olsSlope(x, totals),
      floor: Math.max(params.floor[unit], params.materialFraction * Math.max(0, lastTotal)),
      userFiles: [],
    });

    const catalog: Catalog = { sites: new Map() };
    const seenMaps = new Set<Map<string, SiteInfo>>();
    for (const o of part) {
      if (seenMaps.has(o.summary.sites)) continue; // a catalog shared by the run's summaries
      seenMaps.add(o.summary.sites);
      for (const [k, info] of o.summary.sites) if (!catalog.sites.has(k)) catalog.sites.set(k, info);
    }
    const userFiles = new Set<string>();
    for (const info of catalog.sites.values()) if (info.level === 'function' && info.origin === 'user' && info.file && userFiles.size < 200) userFiles.add(info.file);
    kinds[kinds.length - 1]!.userFiles = [...userFiles];
    const series = (key: string, objects = false): Float64Array => {
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const m = objects ? part[i]!.summary.objects : part[i]!.summary.values;
        y[i] = m?.get(key) ?? 0;
      }
      return y;
    };
    const byFn = new Map<string, SiteInfo[]>();
    for (const info of catalog.sites.values()) {
      if (info.level === 'function' || info.level === 'library') continue;
      let list = byFn.get(info.fnKey);
      if (!list) byFn.set(info.fnKey, (list = []));
      list.push(info);
    }
    /** the smallest k ≤ upTo such that the verdict held on the prefix [0, k), or 0; `every`: try
     *  every k, else at most 60 evenly spaced ones (a scan of sites that are not suspects) */
    const firstHeld = (y: Float64Array, upTo: number, every: boolean): number => {
      for (const k of prefixEnds(params.minSamples, upTo + 1, every ? Infinity : 60)) if (judgeSeries(x, y, totals[k - 1]!, unit, params, 0, k).leak) return k;
      return 0;
    };
    const confirmedFns = new Set<string>();
    const confirmedLibs = new Set<string>();
    /** this kind's near misses, by function key (a library suspect takes its callers' away) */
    const kindNear = new Map<NearMiss, string>();
    /** the own allocations of a function confirmed through a configured library, grown but not confirmed */
    const ownNear: NearMiss[] = [];
    /** a near miss grew by at least half the floor (or half the material share of the total) */
    const grewEnough = (y: Float64Array, floor: number) => y[n - 1]! - y[0]! >= 0.5 * Math.max(floor, params.materialFraction * Math.max(0, lastTotal));
    for (const info of catalog.sites.values()) {
      if (info.level !== 'function') continue;
      const y = series(info.key);
      const v = judgeSeries(x, y, lastTotal, unit, params);
      // For the live "growing fastest" list an ordinary least-squares slope is enough (O(n));
      // verdicts never use it.
      const slope = Number.isFinite(v.slope) ? v.slope : olsSlope(x, y);
      const where = { origin: info.origin, ...(info.library ? { library: info.library } : {}), ...(info.resource ? { resource: info.resource } : {}) };
      if (slope > 0) {
        growing.push({ profile: kind, name: info.name, file: info.file, line: info.line, unit, slopePerMinute: slope, first: y[0]!, last: y[n - 1]!, verdict: v.reason, ...where });
      }
      const eligible = suspectOrigin(kind, info.origin);
      // Dominant line and stack: the member with the largest growth from first to last sample.
      const dominant = () => {
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
        return { bestLine, bestStack };
      };
      if (!v.leak) {
        if (!eligible || opts.firstDetected === false) {
          if (eligible && slope > 0 && grewEnough(y, params.floor[unit])) {
            const { bestLine } = dominant();
            kindNear.set(nearMiss(kind, info, bestLine, unit, v, slope, y, n), info.key);
          }
          continue;
        }
        // A user site not confirmed at the end: was it confirmed on an earlier part of the run?
        // (the live view may have shown it); else is it a near miss? Cheap gate first.
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < n; i++) {
          if (y[i]! < lo) lo = y[i]!;
          if (y[i]! > hi) hi = y[i]!;
        }
        const minFloor = params.floor[unit];
        if (!(hi - lo >= 0.5 * minFloor)) continue;
        const k = firstHeld(y, n - 1, false);
        const grew = slope > 0 && grewEnough(y, minFloor);
        if (k === 0 && !grew) continue;
        const { bestLine } = dominant();
        const m = nearMiss(kind, info, bestLine, unit, v, slope, y, n);
        if (k > 0) {
          m.heldAtSample = picked[k - 1]! + 1;
          m.heldAtMs = clock ? rawTimes[k - 1]! : picked[k - 1]!;
        }
        kindNear.set(m, info.key);
        continue;
      }
      const { bestLine, bestStack } = dominant();
      let firstDetectedSample = n;
      if (opts.firstDetected !== false) {
        const k = firstHeld(y, n, true);
        if (k > 0) firstDetectedSample = k;
      }
      let objectsPerMinute: number | undefined;
      if (lastSummary.objects && runtime !== 'node') {
        const s = theilSen(x, series(info.key, true)).slope;
        if (Number.isFinite(s)) objectsPerMinute = s;
      }
      const lineInfo = bestLine ?? info;
      const sus: Suspect = {
        profile: kind,
        name: info.name,
        file: lineInfo.file,
        line: lineInfo.line,
        stack: bestStack?.stack ?? [],
        origin: info.origin,
        // the library named is the dominant stack's, so the headline and the stack shown agree
        ...((bestStack ?? lineInfo).library ? { library: (bestStack ?? lineInfo).library } : {}),
        ...(bestStack?.entryPackage ? { entryPackage: bestStack.entryPackage } : {}),
        ...(info.resource ? { resource: info.resource } : {}),
        ...figures(v, y, firstDetectedSample),
        ...(objectsPerMinute !== undefined ? { objectsPerMinute } : {}),
      };
      (eligible ? suspects : outside).push(sus);
      if (eligible) {
        confirmedFns.add(info.key);
        if (bestStack?.libraryKey) confirmedLibs.add(bestStack.libraryKey);
      }
      // One function, two leaks: a handler whose dominant stack is a library reached through
      // another one (named where that library is configured, see configured.ts) may leak on its
      // own too — the order handler's audit closures next to the session its res.json saves. Its
      // own allocations (no library frame) are judged apart and, when they leak, are a suspect
      // of their own at the function's own dominant line.
      if (eligible && kind === 'heap' && configuringPackage(sus)) {
        const own = (byFn.get(info.key) ?? []).filter((m) => !m.library && m.origin === 'user');
        const yo = new Float64Array(n);
        let ownLine: SiteInfo | undefined;
        let ownStack: SiteInfo | undefined;
        let lineG = -Infinity;
        let stackG = -Infinity;
        for (const m of own) {
          const ym = series(m.key);
          const g = ym[n - 1]! - ym[0]!;
          if (m.level === 'line') {
            for (let i = 0; i < n; i++) yo[i] = yo[i]! + ym[i]!;
            if (g > lineG) [ownLine, lineG] = [m, g];
          } else if (m.level === 'stack' && g > stackG) [ownStack, stackG] = [m, g];
        }
        const vo = ownLine ? judgeSeries(x, yo, lastTotal, unit, params) : undefined;
        // grew, but failed a rule: a near miss of its own, which the function's confirmed library
        // suspect does not hide (the snapshots may confirm it: snapshot-evidence.ts)
        if (vo && !vo.leak && ownLine) {
          const so = theilSen(x, yo).slope;
          if (so > 0 && grewEnough(yo, params.floor[unit])) ownNear.push(nearMiss(kind, info, ownLine, unit, vo, so, yo, n));
        }
        if (vo?.leak && ownLine) {
          let k0 = n;
          if (opts.firstDetected !== false) {
            const k = firstHeld(yo, n, true);
            if (k > 0) k0 = k;
          }
          suspects.push({
            profile: kind,
            name: info.name,
            file: ownLine.file,
            line: ownLine.line,
            stack: ownStack?.stack ?? [],
            origin: 'user',
            ...figures(vo, yo, k0),
          });
        }
      }
    }
    // A leak inside a library fed from several places in the user's code can be too small at
    // each caller and plain over all of them: judge each library over its callers, unless a
    // suspect already names it (its dominant stack goes through the library).
    if (kind === 'heap') {
      for (const info of catalog.sites.values()) {
        if (info.level !== 'library' || confirmedLibs.has(info.key)) continue;
        const y = series(info.key);
        const v = judgeSeries(x, y, lastTotal, unit, params);
        if (!v.leak) continue;
        const growthOf = (key: string) => {
          const ym = series(key);
          return ym[n - 1]! - ym[0]!;
        };
        // callers: the user functions (and their lines) whose stacks go through this library
        const byCaller = new Map<string, { line: SiteInfo; g: number }>();
        let bestStack: SiteInfo | undefined;
        let bestStackG = -Infinity;
        for (const m of catalog.sites.values()) {
          if (m.libraryKey !== info.key) continue;
          const g = growthOf(m.key);
          if (m.level === 'stack' && g > bestStackG) [bestStack, bestStackG] = [m, g];
          if (m.level !== 'line') continue;
          const c = byCaller.get(m.fnKey);
          if (c) c.g += g;
          else byCaller.set(m.fnKey, { line: m, g });
        }
        const callers = [...byCaller.values()].filter((c) => c.g > 0).sort((a, b) => b.g - a.g);
        const top = callers[0]?.line ?? bestStack;
        if (!top) continue;
        let firstDetectedSample = n;
        if (opts.firstDetected !== false) {
          const k = firstHeld(y, n, true);
          if (k > 0) firstDetectedSample = k;
        }
        const lib = bestStack?.library ?? info.library;
        suspects.push({
          profile: kind,
          name: top.name,
          file: top.file,
          line: top.line,
          stack: bestStack?.stack ?? [],
          origin: 'user',
          ...(lib ? { library: lib } : {}),
          ...(bestStack?.entryPackage ? { entryPackage: bestStack.entryPackage } : {}),
          ...(callers.length > 1 ? { callers: callers.slice(1).map((c) => ({ name: c.line.name, file: c.line.file, line: c.line.line })) } : {}),
          ...figures(v, y, firstDetectedSample),
        });
        // its callers are no near misses of their own any more
        for (const fk of byCaller.keys()) confirmedFns.add(fk);
      }
    }
    for (const [m, fk] of kindNear) if (!confirmedFns.has(fk)) near.push(m);
    near.push(...ownNear);
  }
  // Rank: growth as a share of the kind's total first (a goroutine leak that is all goroutines
  // outranks a 2% heap creep), then confidence.
  const kindTotal = new Map(kinds.map((k) => [k.kind, Math.max(1e-9, k.totals[k.totals.length - 1] ?? 0)]));
  const rank = (a: Suspect, b: Suspect) =>
    b.totalGrowth / kindTotal.get(b.profile)! - a.totalGrowth / kindTotal.get(a.profile)! || b.confidence - a.confidence || a.name.localeCompare(b.name);
  suspects.sort(rank);
  outside.sort(rank);
  growing.sort((a, b) => b.slopePerMinute / kindTotal.get(b.profile)! - a.slopePerMinute / kindTotal.get(a.profile)!);
  // Near misses: those confirmed earlier first (they must never vanish silently), then by growth
  // as a share of the kind's total.
  near.sort(
    (a, b) =>
      Number(b.heldAtSample !== undefined) - Number(a.heldAtSample !== undefined) ||
      b.growth / kindTotal.get(b.profile)! - a.growth / kindTotal.get(a.profile)! ||
      a.name.localeCompare(b.name),
  );
  const limit = opts.nearMissLimit ?? 5;
  const nearMisses = near.filter((m, i) => i < limit || m.heldAtSample !== undefined);
  return {
    sensitivity,
    minSamples: params.minSamples,
    samples: observations.length,
    kinds,
    suspects,
    outside,
    nearMisses,
    growing: growing.slice(0, opts.growingLimit ?? 5),
  };
}

function nearMiss(kind: LeakKind, info: SiteInfo, line: SiteInfo | undefined, unit: LeakUnit, v: Verdict, slope: number, y: Float64Array, n: number): NearMiss {
  const l = line ?? info;
  return {
    profile: kind,
    name: info.name,
    file: l.file,
    line: l.line,
    unit,
    ...(l.library ? { library: l.library } : {}),
    ...(info.resource ? { resource: info.resource } : {}),
    reason: v.reason,
    slopePerMinute: slope,
    growth: y[n - 1]! - y[0]!,
    pValue: v.p,
    first: y[0]!,
    last: y[n - 1]!,
  };
}

export type { VerdictParams };
