/**
 * `leakscope watch` over many targets: `--targets FILE` (Prometheus file_sd, JSON or YAML; re-read
 * every interval), `--prometheus URL --job NAME` (the job's active targets from Prometheus' HTTP
 * API, asked again every interval), or several URLs. Each target is polled like a single `watch`
 * (heap with gc=1, goroutine/async), into its own run directory under one fleet directory; at
 * most `--concurrency` targets are polled at once, and a failing target backs off on its own
 * (failing targets share at most half of the slots, so ten hanging targets cannot starve the
 * rest). Targets that appear are added; those that vanish stop being polled and keep what was
 * saved. The live view has one line per target; the report ranks the targets and groups the
 * suspects several instances of one job share. The final report is read back from the fleet
 * directory, exactly as `leakscope analyze FLEET_DIR` reads it.
 */
import type { CliIO } from './io.js';
import { intOption, byteSizeOption } from './args.js';
import { LeakscopeError } from '../core/errors.js';
import { summarizeProfile, type LeakKind, type SiteInfo } from '../core/leak/summary.js';
import { analyzeLeaks, restartBetween, type LeakAnalysis, type Observation, type RestartReason } from '../core/leak/analyze.js';
import type { Sensitivity } from '../core/leak/verdict.js';
import { analyzeFleet, groupFindings, rankFleet, type FleetAnalysis, type FleetTargetInput } from '../core/fleet.js';
import { parseFileSd } from '../formats/file-sd.js';
import { fetchBytes, parseProfileBytes } from '../node/source.js';
import { profileTotals, type IndexEntry } from '../node/run-dir.js';
import { FleetDir, TargetDir, loadFleetTargets, type FleetTargetMeta } from '../node/fleet-dir.js';
import { fleetReportJson, renderFleetLive, renderFleetMarkdown, renderFleetText, type FleetMeta } from '../report/fleet.js';
import { parseDuration, parseKinds, parseSensitivity, pprofBase, profileUrl } from './commands/watch.js';
import type { FleetFlags } from './fleet-args.js';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** poll observations kept in memory per target and kind, for the live view (the report reads the disk) */
const LIVE_WINDOW = 20;

export interface TargetSpec {
  id: string;
  url: string;
  job: string;
  labels: Record<string, string>;
}

/** A `host:port` (or URL) from a target list → its spec; a bad one → E_USAGE with the reason. */
export function targetFromAddress(addr: string, labels: Record<string, string>, jobDefault: string): TargetSpec {
  const scheme = labels.__scheme__ === 'https' ? 'https' : 'http';
  const raw = /^https?:\/\//i.test(addr) ? addr : `${scheme}://${addr}`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new LeakscopeError('E_USAGE', `"${addr}" is not a host:port or URL`);
  }
  if (!u.hostname) throw new LeakscopeError('E_USAGE', `"${addr}" has no host`);
  if (/^https?:\/\//i.test(addr) === false && !/:\d+$/.test(addr.replace(/\/.*$/, ''))) throw new LeakscopeError('E_USAGE', `"${addr}" has no port (host:port)`);
  const url = pprofBase(raw);
  const pub: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!k.startsWith('__')) pub[k] = v;
  const id = /^https?:\/\//i.test(addr) ? u.host + (u.pathname.replace(/\/debug\/pprof\/?$/, '').replace(/\/$/, '') || '') : addr;
  if (!pub.instance) pub.instance = id;
  return { id, url, job: pub.job ?? jobDefault, labels: pub };
}

/** Reads a file_sd file into target specs; bad entries are reported through `bad` and skipped. */
export async function readTargetsFile(file: string, bad: (msg: string) => void): Promise<TargetSpec[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LeakscopeError('E_IO', `${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const groups = parseFileSd(text, file);
  const out: TargetSpec[] = [];
  for (const g of groups) {
    for (const t of g.targets) {
      try {
        out.push(targetFromAddress(t, g.labels, ''));
      } catch (e) {
        bad(`${file}: skipping target ${(e as Error).message}`);
      }
    }
  }
  return out;
}

/** The same URL on another port (a target's pprof endpoints beside its metrics port). */
export function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString().replace(/\/$/, '');
}

interface PromTarget {
  labels?: Record<string, string>;
  discoveredLabels?: Record<string, string>;
  scrapePool?: string;
  scrapeUrl?: string;
  health?: string;
}

/** The active targets of `job` from a Prometheus server's `/api/v1/targets`. */
export async function prometheusTargets(base: string, job: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<TargetSpec[]> {
  let u: URL;
  try {
    u = new URL(/^https?:\/\//i.test(base) ? base : `http://${base}`);
  } catch {
    throw new LeakscopeError('E_USAGE', `--prometheus: "${base}" is not a URL`);
  }
  const api = new URL(u.pathname.replace(/\/+$/, '') + '/api/v1/targets', u);
  api.searchParams.set('state', 'active');
  const where = `Prometheus at ${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  let body: unknown;
  try {
    const bytes = await fetchBytes(api.toString(), { timeoutMs: opts.timeoutMs, maxBytes: 64 * 1024 * 1024, ...(opts.signal ? { signal: opts.signal } : {}) });
    try {
      body = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      throw new LeakscopeError('E_FETCH', `${where}: /api/v1/targets did not answer JSON (is this a Prometheus server?)`);
    }
  } catch (e) {
    if (e instanceof LeakscopeError && e.code === 'E_FETCH' && !e.message.startsWith(where)) {
      // fetchBytes names the URL; say which Prometheus and why, once
      const why = e.message.replace(/^\S+: /, '');
      throw new LeakscopeError('E_FETCH', `${where}: ${why}`);
    }
    throw e;
  }
  const b = body as { status?: string; error?: string; data?: { activeTargets?: PromTarget[] } };
  if (b?.status !== 'success' || !Array.isArray(b.data?.activeTargets)) {
    throw new LeakscopeError('E_FETCH', `${where}: /api/v1/targets answered ${b?.status ?? 'no status'}${b?.error ? `: ${b.error}` : ''}`);
  }
  const all = b.data!.activeTargets!;
  const mine = all.filter((t) => t.labels?.job === job || t.scrapePool === job);
  if (mine.length === 0 && all.length > 0 && !all.some((t) => t.labels?.job === job)) {
    const jobs = [...new Set(all.map((t) => t.labels?.job ?? t.scrapePool ?? '?'))].sort();
    throw new LeakscopeError('E_USAGE', `${where} has no active targets of job "${job}" (its jobs: ${jobs.join(', ')})`);
  }
  const out: TargetSpec[] = [];
  for (const t of mine) {
    const labels = { ...(t.labels ?? {}) };
    let origin: string | undefined;
    try {
      if (t.scrapeUrl) origin = new URL(t.scrapeUrl).origin;
    } catch {
      /* below */
    }
    const addr = origin ?? t.discoveredLabels?.__address__ ?? labels.instance;
    if (!addr) continue;
    const spec = targetFromAddress(addr, {}, job);
    out.push({ id: labels.instance ?? spec.id, url: spec.url, job: labels.job ?? job, labels: { ...labels, instance: labels.instance ?? spec.id } });
  }
  return out;
}

interface TState {
  spec: TargetSpec;
  meta: FleetTargetMeta;
  run: TargetDir;
  active: boolean;
  busy: boolean;
  nextAt: number;
  failures: number;
  round: number;
  samples: number;
  gaps: number;
  segment: number;
  lastError?: string;
  /** the live window of observations */
  observations: Observation[];
  lastObs: Map<LeakKind, Observation>;
  pendingGap: Map<LeakKind, boolean>;
  catalogs: Map<LeakKind, Map<string, SiteInfo>>;
  analysis?: LeakAnalysis;
  state?: string;
  suspectNames: Set<string>;
}

export interface FleetResult {
  analysis: FleetAnalysis;
  meta: FleetMeta;
  /** no target ever answered */
  noneAnswered: boolean;
}

function analysisOptions(sensitivity: Sensitivity, minSamples: number | undefined) {
  return { sensitivity, ...(minSamples !== undefined ? { minSamples } : {}) };
}

/** The fleet report of a fleet directory (what `analyze FLEET_DIR` prints). */
export async function analyzeFleetDir(dir: string, sensitivity: Sensitivity, minSamples: number | undefined, extraNotes: string[] = []): Promise<FleetResult> {
  const notes: string[] = [];
  const inputs: FleetTargetInput[] = [];
  let lastPoll = NaN;
  const meta = await loadFleetTargets(
    dir,
    (t) => {
      for (const e of t.run.entries ?? []) if (Number.isFinite(e.timeMs) && !(e.timeMs <= lastPoll)) lastPoll = e.timeMs;
      const a = t.run.observations.length > 0 ? analyzeLeaks(t.run.observations, analysisOptions(sensitivity, minSamples)) : undefined;
      inputs.push({
        id: t.meta.id,
        url: t.meta.url,
        job: t.meta.job,
        labels: t.meta.labels,
        dir: t.dir,
        ...(a ? { analysis: a } : {}),
        samples: t.samples,
        gaps: t.run.gaps,
        ...(t.lastError !== undefined ? { lastError: t.lastError } : {}),
        vanished: t.meta.vanishedAt !== undefined,
        failingAtEnd: t.failingAtEnd,
      });
    },
    notes,
  );
  const start = Date.parse(meta.startedAt);
  // a run that was killed has no endedAt: it lasted until its last poll
  const end = meta.endedAt ? Date.parse(meta.endedAt) : lastPoll;
  const analysis = analyzeFleet(inputs);
  return {
    analysis,
    meta: {
      fleetDir: resolve(dir),
      durationMs: Number.isFinite(start) && Number.isFinite(end) ? end - start : 0,
      intervalMs: meta.intervalMs,
      notes: [...extraNotes, ...notes],
    },
    noneAnswered: inputs.length > 0 && inputs.every((t) => t.samples === 0),
  };
}

export function writeFleetReport(io: CliIO, r: FleetResult, flags: { json?: boolean; markdown?: boolean; 'fail-on-leak'?: boolean }): number {
  if (flags.json) io.stdout(JSON.stringify(fleetReportJson(r.analysis, r.meta), null, 2) + '\n');
  else if (flags.markdown) io.stdout(renderFleetMarkdown(r.analysis, r.meta));
  else io.stdout(renderFleetText(r.analysis, r.meta));
  if (flags['fail-on-leak'] && r.analysis.counts.leaking > 0) return 3;
  return 0;
}

export async function runFleet(urls: string[], flags: FleetFlags, io: CliIO, signal: AbortSignal): Promise<FleetResult> {
  const intervalMs = parseDuration(flags.interval ?? '10s', 'interval');
  if (intervalMs < 100) throw new LeakscopeError('E_USAGE', '--interval must be at least 100ms');
  const durationMs = flags.duration !== undefined ? parseDuration(flags.duration, 'duration') : undefined;
  const kinds = parseKinds(flags.profiles, ['heap', 'goroutine']);
  const sensitivity = parseSensitivity(flags.sensitivity);
  const minSamples = intOption(flags['min-samples'], 'min-samples', 3, 10000);
  const concurrency = intOption(flags.concurrency, 'concurrency', 1, 1000) ?? 8;
  const timeoutMs = flags.timeout !== undefined ? parseDuration(flags.timeout, 'timeout') : Math.min(30000, Math.max(5000, intervalMs));
  const token = flags.token ?? process.env.LEAKSCOPE_TOKEN;
  const maxBytes = byteSizeOption(flags['max-bytes'], 'max-bytes');
  if (flags.snapshots) throw new LeakscopeError('E_USAGE', '--snapshots watches one target; give one URL');
  if (flags.http !== undefined) throw new LeakscopeError('E_USAGE', '--http serves one target\'s run; over a fleet, run `leakscope web FLEET_DIR/<target>`');
  if (flags.prometheus !== undefined && !flags.job) throw new LeakscopeError('E_USAGE', '--prometheus needs --job NAME (the job whose targets to watch)');
  if (flags.job !== undefined && flags.prometheus === undefined && flags.targets === undefined && urls.length === 0) throw new LeakscopeError('E_USAGE', '--job goes with --prometheus URL');

  const live = io.isTTY && !flags.json && !flags.markdown && !flags.quiet;
  const logs = !live && !flags.quiet;
  const log = (s: string) => {
    if (logs) io.stderr(`leakscope watch: ${s}\n`);
  };
  const runtimeNotes: string[] = [];
  let status: string | undefined;
  /** one line, once per distinct message (a bad file re-read every interval says it once) */
  const said = new Set<string>();
  const warn = (s: string) => {
    if (said.has(s)) return;
    said.add(s);
    if (said.size > 1000) said.clear();
    status = s;
    if (!flags.quiet && !live) io.stderr(`leakscope watch: ${s}\n`);
    runtimeNotes.push(s);
    if (runtimeNotes.length > 200) runtimeNotes.splice(0, runtimeNotes.length - 200);
  };

  /** ends the polling: Ctrl-C or the planned duration */
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) stop.abort();

  // --- where targets come from
  const plain: TargetSpec[] = [];
  for (const u of urls) {
    try {
      plain.push(targetFromAddress(/^https?:\/\//i.test(u) ? u : u.includes('/') ? `http://${u}` : u, {}, flags.prometheus === undefined ? (flags.job ?? '') : ''));
    } catch (e) {
      warn(`skipping ${(e as Error).message}`);
    }
  }
  let fileMtime = -1;
  let fileTargets: TargetSpec[] = [];
  const readFileTargets = async (first: boolean): Promise<void> => {
    const file = flags.targets!;
    try {
      let st;
      try {
        st = await stat(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new LeakscopeError('E_IO', `${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      if (st.mtimeMs === fileMtime) return;
      const next = await readTargetsFile(file, warn);
      fileMtime = st.mtimeMs;
      fileTargets = next;
    } catch (e) {
      if (first || !(e instanceof LeakscopeError)) {
        if (e instanceof LeakscopeError) throw e;
        throw new LeakscopeError('E_IO', `${file}: ${(e as Error).message}`);
      }
      warn(`${e.message}; keeping the previous ${fileTargets.length} target${fileTargets.length === 1 ? '' : 's'}`);
      return;
    }
    forget(flags.targets!);
  };
  /** a source that works again may fail again later: its next failure is said again */
  const forget = (prefix: string) => {
    for (const m of said) if (m.startsWith(prefix)) said.delete(m);
  };
  let promTargets: TargetSpec[] = [];
  const readPromTargets = async (first: boolean): Promise<void> => {
    try {
      promTargets = await prometheusTargets(flags.prometheus!, flags.job!, { timeoutMs: Math.min(timeoutMs, 10000), signal: stop.signal });
    } catch (e) {
      if (first || !(e instanceof LeakscopeError)) throw e;
      if (stop.signal.aborted) return;
      warn(`${e.message}; keeping the previous ${promTargets.length} target${promTargets.length === 1 ? '' : 's'}`);
      return;
    }
    forget('Prometheus at ');
  };
  const pprofPort = intOption(flags['pprof-port'], 'pprof-port', 1, 65535);
  if (pprofPort !== undefined && flags.targets === undefined && flags.prometheus === undefined) throw new LeakscopeError('E_USAGE', '--pprof-port applies to discovered targets (--targets, --prometheus)');
  const discover = async (first: boolean): Promise<TargetSpec[]> => {
    if (flags.targets !== undefined) await readFileTargets(first);
    if (flags.prometheus !== undefined) await readPromTargets(first);
    const all = new Map<string, TargetSpec>();
    const discovered = [...fileTargets, ...promTargets].map((t) => (pprofPort === undefined ? t : { ...t, url: withPort(t.url, pprofPort) }));
    for (const t of [...plain, ...discovered]) if (!all.has(t.url)) all.set(t.url, t);
    return [...all.values()];
  };
  const sources = [
    ...(flags.targets !== undefined ? [`file_sd ${flags.targets}`] : []),
    ...(flags.prometheus !== undefined ? [`prometheus ${flags.prometheus} job ${flags.job}`] : []),
    ...plain.map((p) => p.url),
  ];

  const initial = await discover(true);
  if (initial.length === 0) {
    throw new LeakscopeError('E_USAGE', flags.prometheus !== undefined ? `Prometheus at ${flags.prometheus} has no active targets of job "${flags.job}"` : 'no target to watch (the target list is empty or every entry was bad)');
  }

  const started = Date.now();
  const stamp = new Date(started).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const outDir = flags.out ?? join('leakscope-runs', `fleet-${stamp}`);
  const fleet = await FleetDir.create(outDir, { tool: 'leakscope watch', startedAt: new Date(started).toISOString(), intervalMs, profiles: kinds, sources });
  const states = new Map<string, TState>();

  const addTarget = async (spec: TargetSpec): Promise<void> => {
    const known = states.get(spec.url);
    if (known) {
      if (!known.active) {
        known.active = true;
        delete known.meta.vanishedAt;
        known.nextAt = Date.now();
        log(`${spec.id}: back in the target list`);
      }
      return;
    }
    const name = fleet.dirNameFor(spec.id);
    const dir = join(fleet.dir, name);
    const run = await TargetDir.create(dir, { target: spec.id, url: spec.url, job: spec.job, labels: spec.labels, startedAt: new Date().toISOString(), intervalMs, profiles: kinds, tool: 'leakscope watch (fleet)' });
    const meta: FleetTargetMeta = { id: spec.id, url: spec.url, job: spec.job, labels: spec.labels, dir: name, firstSeen: new Date().toISOString() };
    fleet.meta.targets.push(meta);
    // spread the first polls over the interval: a hundred targets do not all fire at once
    const offset = states.size === 0 ? 0 : Math.floor(((states.size * 7919) % 1000) / 1000 * Math.min(intervalMs, 10000));
    states.set(spec.url, {
      spec,
      meta,
      run,
      active: true,
      busy: false,
      nextAt: Date.now() + offset,
      failures: 0,
      round: 0,
      samples: 0,
      gaps: 0,
      segment: 0,
      observations: [],
      lastObs: new Map(),
      pendingGap: new Map(),
      catalogs: new Map(),
      suspectNames: new Set(),
    });
  };
  const applyDiscovery = async (specs: TargetSpec[], first: boolean): Promise<void> => {
    const seen = new Set(specs.map((s) => s.url));
    let changed = false;
    for (const s of specs) {
      const known = states.get(s.url);
      if (!known || !known.active) {
        await addTarget(s);
        changed = true;
        if (!first && !known) log(`${s.id}${s.job ? ` (${s.job})` : ''}: new target`);
      }
    }
    for (const t of states.values()) {
      if (t.active && !seen.has(t.spec.url)) {
        t.active = false;
        t.meta.vanishedAt = new Date().toISOString();
        changed = true;
        log(`${t.spec.id}: left the target list; its ${t.samples} sample${t.samples === 1 ? '' : 's'} stay in ${t.run.dir}`);
      }
    }
    if (changed) await fleet.save();
  };
  await applyDiscovery(initial, true);
  log(`watching ${states.size} target${states.size === 1 ? '' : 's'} every ${intervalMs / 1000}s, at most ${concurrency} at once; fleet directory ${fleet.dir}`);

  // --- polling
  const stopSignal = stop.signal;
  let inFlight = 0;
  let failingInFlight = 0;
  const failingCap = Math.max(1, Math.ceil(concurrency / 2));
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pending = new Set<Promise<void>>();

  const liveInputs = (): FleetTargetInput[] =>
    [...states.values()].map((t) => ({
      id: t.spec.id,
      url: t.spec.url,
      job: t.spec.job,
      labels: t.spec.labels,
      dir: t.run.dir,
      ...(t.analysis ? { analysis: t.analysis } : {}),
      samples: t.samples,
      gaps: t.gaps,
      ...(t.lastError ? { lastError: t.lastError } : {}),
      vanished: !t.active,
      failingAtEnd: t.failures > 0,
    }));

  const pollTarget = async (t: TState): Promise<void> => {
    const roundStart = Date.now();
    t.round++;
    const seq = t.round;
    const due = kinds.filter((k) => k !== 'promises' || (seq - 1) % 3 === 0);
    const results: { kind: LeakKind; bytes?: Uint8Array; error?: string; time: number }[] = [];
    for (const kind of due) {
      if (stopSignal.aborted) break;
      const time = Date.now();
      try {
        const bytes = await fetchBytes(profileUrl(t.spec.url, kind), { token, timeoutMs, maxBytes, signal: stopSignal });
        results.push({ kind, bytes, time });
      } catch (e) {
        const msg = (e as Error).message;
        results.push({ kind, error: msg, time });
        // a target that is down (no connection, no answer) is not asked for its other profiles
        // this round: a hanging target would hold a slot for one timeout per kind
        if (/: (cannot connect|no answer within|the answer did not end|connection lost)/.test(msg)) {
          for (const k of due.slice(due.indexOf(kind) + 1)) results.push({ kind: k, error: msg, time });
          break;
        }
      }
    }
    if (stopSignal.aborted) {
      for (let i = results.length - 1; i >= 0; i--) if (results[i]!.error) results.splice(i, 1);
      if (results.length === 0) return;
    }
    const fresh: { kind: LeakKind; obs: Observation; file: string; totals: Record<string, number>; timeNanos: string; time: number }[] = [];
    const entries: IndexEntry[] = [];
    let restartReason: RestartReason | undefined;
    let err: string | undefined;
    for (const r of results) {
      if (r.bytes) {
        try {
          const p = parseProfileBytes(r.bytes, profileUrl(t.spec.url, r.kind), maxBytes);
          const file = await t.run.saveProfile(r.kind, r.bytes);
          if (!t.catalogs.has(r.kind)) t.catalogs.set(r.kind, new Map());
          const obs: Observation = { kind: r.kind, timeMs: r.time, summary: summarizeProfile(p, r.kind, t.catalogs.get(r.kind)), file: join(t.run.dir, file), gapBefore: t.pendingGap.get(r.kind) ?? false };
          const prev = t.lastObs.get(r.kind);
          const why = prev ? restartBetween(prev, obs, obs.gapBefore ?? false) : undefined;
          if (why && !restartReason) restartReason = why;
          fresh.push({ kind: r.kind, obs, file, totals: profileTotals(p), timeNanos: p.timeNanos.toString(), time: r.time });
          continue;
        } catch (e) {
          r.error = (e as Error).message;
        }
      }
      t.gaps++;
      err = r.error ?? 'unknown error';
      t.pendingGap.set(r.kind, true);
      entries.push({ seq, time: new Date(r.time).toISOString(), timeMs: r.time, profile: r.kind, segment: t.segment, gap: true, error: err });
    }
    if (restartReason) {
      t.segment++;
      t.state = `restarted (${restartReason})`;
      log(`${t.spec.id}: restarted (${restartReason}); a new segment begins`);
    }
    for (const f of fresh) {
      f.obs.segment = t.segment;
      if (restartReason) f.obs.restartReason = restartReason;
      t.observations.push(f.obs);
      t.lastObs.set(f.kind, f.obs);
      t.pendingGap.set(f.kind, false);
      entries.push({ seq, time: new Date(f.time).toISOString(), timeMs: f.time, profile: f.kind, file: f.file, totals: f.totals, timeNanos: f.timeNanos, segment: t.segment, ...(restartReason ? { restart: restartReason } : {}) });
    }
    entries.sort((a, b) => kinds.indexOf(a.profile) - kinds.indexOf(b.profile));
    try {
      await t.run.append(entries);
    } catch (e) {
      warn(`${t.spec.id}: ${(e as Error).message}`);
    }
    // the live window: the oldest observations of a kind beyond LIVE_WINDOW are dropped (they stay on disk)
    for (const k of kinds) {
      let n = 0;
      for (const o of t.observations) if (o.kind === k) n++;
      if (n > LIVE_WINDOW) {
        let drop = n - LIVE_WINDOW;
        t.observations = t.observations.filter((o) => !(o.kind === k && drop-- > 0));
      }
    }
    if (fresh.length > 0) {
      t.samples++;
      if (t.failures > 0 && t.samples > 1) log(`${t.spec.id}: answering again`);
      t.failures = 0;
      if (!restartReason) t.state = undefined;
      if (err) t.lastError = err;
      t.analysis = analyzeLeaks(t.observations, { ...analysisOptions(sensitivity, minSamples), firstDetected: false, maxPoints: LIVE_WINDOW });
      for (const s of t.analysis.suspects) {
        if (t.suspectNames.has(s.name)) continue;
        t.suspectNames.add(s.name);
        log(`${t.spec.id}: leak suspect ${s.name} at ${s.file}${s.line > 0 ? `:${s.line}` : ''} (${s.profile})`);
      }
    } else if (err) {
      t.failures++;
      t.lastError = err;
      if (t.failures === 1) log(`${t.spec.id}: ${err}; retrying with backoff`);
    }
    const wait = t.failures > 0 ? Math.min(intervalMs * 2 ** t.failures, Math.max(intervalMs, 60000)) : intervalMs;
    t.nextAt = roundStart + wait;
    if (t.failures > 0) t.state = `retry in ${Math.round((t.nextAt - Date.now()) / 1000)}s`;
  };

  const start = (t: TState) => {
    t.busy = true;
    const failing = t.failures > 0;
    inFlight++;
    if (failing) failingInFlight++;
    const p = pollTarget(t)
      .catch((e: unknown) => warn(`${t.spec.id}: ${(e as Error).message}`))
      .finally(() => {
        t.busy = false;
        inFlight--;
        if (failing) failingInFlight--;
        pending.delete(p);
        poke();
      });
    pending.add(p);
  };

  let lastDraw = 0;
  const draw = () => {
    if (!live) return;
    const ranked = rankFleet(liveInputs());
    const byId = new Map([...states.values()].map((t) => [t.spec.id, t]));
    io.stdout(
      `\x1b[H\x1b[J${renderFleetLive({
        fleetDir: fleet.dir,
        elapsedMs: Date.now() - started,
        ...(durationMs !== undefined ? { durationMs } : {}),
        rows: ranked.map((target) => ({ target, ...(byId.get(target.id)?.state ? { state: byId.get(target.id)!.state! } : {}) })),
        findings: groupFindings(ranked),
        ...(status ? { status } : {}),
        columns: process.stdout.columns,
        rowsAvailable: process.stdout.rows,
      })}`,
    );
    lastDraw = Date.now();
  };
  if (live) io.stdout('\x1b[2J');

  let nextDiscovery = started + intervalMs;
  const endAt = durationMs !== undefined ? started + durationMs : Infinity;
  let durationTimer: NodeJS.Timeout | undefined;
  if (durationMs !== undefined) durationTimer = setTimeout(() => stop.abort(), durationMs + 50);
  try {
    while (!stopSignal.aborted && Date.now() < endAt) {
      const now = Date.now();
      if (now >= nextDiscovery && (flags.targets !== undefined || flags.prometheus !== undefined)) {
        nextDiscovery = now + intervalMs;
        try {
          await applyDiscovery(await discover(false), false);
        } catch (e) {
          warn((e as Error).message);
        }
      }
      const due = [...states.values()].filter((t) => t.active && !t.busy && t.nextAt <= now).sort((a, b) => a.nextAt - b.nextAt);
      for (const t of due) {
        if (inFlight >= concurrency) break;
        if (t.failures > 0 && failingInFlight >= failingCap) continue;
        start(t);
      }
      if (live && Date.now() - lastDraw >= 1000) draw();
      let nextAt = Math.min(endAt, nextDiscovery);
      for (const t of states.values()) if (t.active && !t.busy) nextAt = Math.min(nextAt, t.nextAt);
      const waitMs = Math.max(5, Math.min(nextAt - Date.now(), live ? 1000 : 60000));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done() {
          clearTimeout(timer);
          stopSignal.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        stopSignal.addEventListener('abort', done, { once: true });
      });
      wake = undefined;
    }
  } finally {
    if (durationTimer) clearTimeout(durationTimer);
    stop.abort(); // in-flight fetches end now; what they already saved stays
    signal.removeEventListener('abort', onAbort);
    await Promise.all([...pending]);
  }
  if (live) io.stdout('\x1b[H\x1b[J');
  fleet.meta.endedAt = new Date().toISOString();
  await fleet.save();
  const notes = [...runtimeNotes];
  if (signal.aborted) notes.unshift('stopped by Ctrl-C: this report covers what was collected');
  return analyzeFleetDir(fleet.dir, sensitivity, minSamples, notes);
}
