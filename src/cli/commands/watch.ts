/**
 * `leakscope watch <url>`: poll heap (gc=1) and goroutine/async profiles from a pprof endpoint (Go's
 * net/http/pprof or leakscope's agent) at an interval, save each in a run directory, show a live
 * view, and end with the leak report — at the planned duration or on Ctrl-C, with what was
 * collected. Unreachable targets are retried with backoff (the gap is recorded); restarts begin a
 * new segment. Nothing saved is ever lost: every file is written atomically as it arrives.
 */
import type { CliIO, CommandSpec } from '../io.js';
import { parseCommandArgs, intOption, byteSizeOption } from '../args.js';
import { LeakscopeError } from '../../core/errors.js';
import { summarizeProfile, type LeakKind, type SiteInfo } from '../../core/leak/summary.js';
import { analyzeLeaks, restartBetween, type LeakAnalysis, type Observation, type RestartReason, type Suspect } from '../../core/leak/analyze.js';
import type { Sensitivity } from '../../core/leak/verdict.js';
import { fetchBytes, parseProfileBytes } from '../../node/source.js';
import { RunDir, defaultRunDirName, downloadAtomic, profileTotals, writeAtomic, type IndexEntry } from '../../node/run-dir.js';
import { maxBytesFor } from '../../node/limits.js';
import { addConfiguredSites, readSource } from '../../node/leak-sources.js';
import { confirmFromSnapshots, setAsideSnapshotCaches } from '../../core/leak/snapshot-evidence.js';
import { leakReportJson, renderLeakMarkdown, renderLeakText, renderLiveView, renderLogLine, type ReportMeta, type SnapshotLeakGroup } from '../../report/watch.js';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLiveView } from '../web-live.js';
import { checkListen } from '../web-server.js';
import { untilInterrupted } from '../interrupt.js';
import { isFleetInvocation, type FleetFlags } from '../fleet-args.js';
import { MetricsLog, scrapeInto, splitMetrics } from '../../node/metrics-dir.js';
import { labelView } from '../../core/tags.js';
import { numLabelUnits } from '../../report/prepare.js';

const KINDS: LeakKind[] = ['heap', 'goroutine', 'async', 'promises'];
/** the census with promises=1 walks the heap after full GCs (the service pauses): at most every
 *  this many intervals, and less often when it is slow */
const PROMISES_EVERY = 3;
/** at most this share of the wall time may go to collecting one profile kind */
const MAX_DUTY = 1 / 3;
/** fetches quicker than this never slow polling down, whatever the interval */
const SLOW_FETCH_MS = 1000;

/** Poll a profile every N intervals so its collection takes at most MAX_DUTY of the time. */
export function pollEvery(costMs: number, intervalMs: number): number {
  if (costMs <= SLOW_FETCH_MS) return 1;
  return Math.max(1, Math.ceil(costMs / (intervalMs * MAX_DUTY)));
}

/** time between the heap snapshots of --snapshots, at least (and with no --duration) */
const SNAPSHOT_SPACING_MS = 5000;
/** ... and at most */
const SNAPSHOT_SPACING_MAX_MS = 60_000;

/**
 * The spacing of the four snapshots: with a --duration, they are spread over three quarters of
 * what is left of the run (the last quarter is for writing and analysing them). A cache that is
 * still warming when the first heap site is confirmed slows visibly over a wider span, a cache
 * that has just filled turns entries over before the last snapshot, and a leak rises by the same
 * amount per interval however far apart they are.
 */
export function snapshotSpacingMs(remainingMs: number | undefined): number {
  if (remainingMs === undefined || !Number.isFinite(remainingMs)) return SNAPSHOT_SPACING_MS;
  return Math.round(Math.min(SNAPSHOT_SPACING_MAX_MS, Math.max(SNAPSHOT_SPACING_MS, (0.75 * remainingMs) / (SNAPSHOT_COUNT - 1))));
}

export const watchOptions = {
  interval: { type: 'string' },
  duration: { type: 'string' },
  profiles: { type: 'string' },
  token: { type: 'string' },
  out: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  'fail-on-leak': { type: 'boolean' },
  sensitivity: { type: 'string' },
  'min-samples': { type: 'string' },
  snapshots: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'max-bytes': { type: 'string' },
  http: { type: 'string' },
  // many targets (cli/fleet.ts)
  targets: { type: 'string' },
  prometheus: { type: 'string' },
  job: { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  'pprof-port': { type: 'string' },
  by: { type: 'string' },
  tagfocus: { type: 'string' },
  tagignore: { type: 'string' },
} as const;

export interface WatchFlags {
  interval?: string;
  duration?: string;
  profiles?: string;
  token?: string;
  out?: string;
  json?: boolean;
  markdown?: boolean;
  'fail-on-leak'?: boolean;
  sensitivity?: string;
  'min-samples'?: string;
  snapshots?: boolean;
  quiet?: boolean;
  'max-bytes'?: string;
  /** serve the live heap-over-time page here (cli/web-live.ts) */
  http?: string;
  /** one series per value of this label (core/tags.ts splitByLabel) */
  by?: string;
  /** only the samples with (without) a label matching, as pprof's -tagfocus (-tagignore) */
  tagfocus?: string;
  tagignore?: string;
}

/** `10s`, `500ms`, `2m`, `1h`, or a bare number of seconds → milliseconds. */
export function parseDuration(v: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) throw new LeakscopeError('E_USAGE', `--${name} must be a duration such as 10s, 500ms, 2m or 1h, got "${v}"`);
  const n = Number(m[1]);
  const mult = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60000 : m[2] === 'h' ? 3600000 : 1000;
  return n * mult;
}

export function parseSensitivity(v: string | undefined): Sensitivity {
  if (v === undefined) return 'normal';
  if (v === 'low' || v === 'normal' || v === 'high') return v;
  throw new LeakscopeError('E_USAGE', `--sensitivity must be low, normal or high, got "${v}"`);
}

export function parseKinds(v: string | undefined, def: LeakKind[]): LeakKind[] {
  if (v === undefined) return def;
  const out: LeakKind[] = [];
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!KINDS.includes(part as LeakKind)) throw new LeakscopeError('E_USAGE', `--profiles: unknown profile "${part}" (heap, goroutine, async, promises, metrics)`);
    if (!out.includes(part as LeakKind)) out.push(part as LeakKind);
  }
  if (out.length === 0) throw new LeakscopeError('E_USAGE', '--profiles is empty');
  return out;
}

/** `http://host:6060` or `…/debug/pprof[/]` → `http://host:6060/debug/pprof`. */
export function pprofBase(url: string): string {
  let s = url.trim();
  if (!/^https?:\/\//i.test(s)) s = `http://${s}`;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new LeakscopeError('E_USAGE', `"${url}" is not a URL`);
  }
  let path = u.pathname.replace(/\/+$/, '');
  if (!/\/debug\/pprof$/.test(path)) path = `${path}/debug/pprof`;
  u.pathname = path;
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/$/, '');
}

export function profileUrl(base: string, kind: LeakKind): string {
  if (kind === 'promises') return `${base}/async?promises=1`;
  return kind === 'heap' ? `${base}/heap?gc=1` : `${base}/${kind}`;
}

/** How many intervals apart a kind is polled, from what its collection costs. */
export function pollEveryKind(kind: LeakKind, costMs: number, intervalMs: number): number {
  const every = pollEvery(costMs, intervalMs);
  return kind === 'promises' ? Math.max(PROMISES_EVERY, every) : every;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** `p`, or a rejection as soon as the signal aborts (the listener is removed either way). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new LeakscopeError('E_FETCH', 'interrupted'));
  return new Promise<T>((resolve, reject) => {
    const fail = () => reject(new LeakscopeError('E_FETCH', 'interrupted'));
    signal.addEventListener('abort', fail, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', fail);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', fail);
        reject(e);
      },
    );
  });
}

export interface WatchResult {
  analysis: LeakAnalysis;
  meta: ReportMeta;
}

/** Hooks for `--snapshots` (set by the snapshot integration; absent → the flag reports why). */
export interface SnapshotHook {
  (ctx: { base: string; token?: string; runDir: string; signal: AbortSignal; log: (s: string) => void; maxBytes?: number; spacingMs?: number }): Promise<SnapshotLeakGroup[]>;
}
let snapshotHook: SnapshotHook | undefined = agentSnapshots;
export function setSnapshotHook(h: SnapshotHook | undefined): void {
  snapshotHook = h;
}

/**
 * Streams one heap snapshot from the agent into `path`: a temp file renamed once complete (see
 * downloadAtomic), so an interrupted or failed download leaves nothing behind. Ctrl-C (`signal`)
 * aborts it at once; it is bounded by --max-bytes and a 10-minute timeout.
 */
export async function downloadSnapshot(url: string, path: string, token: string | undefined, signal: AbortSignal, maxBytes?: number): Promise<void> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const timer = AbortSignal.timeout(10 * 60_000);
  let res: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(url, { headers, signal: AbortSignal.any([signal, timer]) });
    } catch (e) {
      if (signal.aborted) throw new LeakscopeError('E_FETCH', 'interrupted while waiting for a heap snapshot');
      throw new LeakscopeError('E_FETCH', `${url}: ${timer.aborted ? 'no answer within 600s' : (e as Error).message}`);
    }
    // The agent spaces snapshots (each pauses the service) and says when the next may start:
    // wait as told, a few times, rather than lose the drill-down.
    const retryAfter = Number(res.headers.get('retry-after'));
    if (res.status !== 429 || attempt >= 5 || !(retryAfter >= 0 && retryAfter <= 300)) break;
    await res.body?.cancel().catch(() => {});
    await sleep(retryAfter * 1000 + 100, signal);
    if (signal.aborted) throw new LeakscopeError('E_FETCH', 'interrupted while waiting for a heap snapshot');
  }
  if (res.status !== 200 || !res.body) throw new LeakscopeError('E_FETCH', `${url}: server answered ${res.status} ${res.statusText}`);
  try {
    await downloadAtomic(path, res.body as AsyncIterable<Uint8Array>, { maxBytes: maxBytesFor('snapshot', maxBytes), name: url });
  } catch (e) {
    if (signal.aborted) throw new LeakscopeError('E_FETCH', 'interrupted while a heap snapshot was downloading (the partial file was removed)');
    if (e instanceof LeakscopeError) throw e;
    throw new LeakscopeError('E_FETCH', `${url}: snapshot download failed (${timer.aborted ? 'not complete within 600s' : (e as Error).message})`);
  }
}

/**
 * The default \`--snapshots\` step for a Node target: four heap snapshots through the agent
 * (\`/debug/pprof/heapsnapshot?gc=1\`), spread over the rest of the run (snapshotSpacingMs), saved in the run directory as
 * \`snapshot-N.heapsnapshot\`, then \`leakscope snapshot leaks S1 … S4 --json\` in a child process
 * (it needs memory and CPU; the watch loop keeps polling meanwhile). Its groups are also saved as
 * \`snapshot-leaks.json\` for \`analyze\`. The fourth snapshot is what lets \`snapshot leaks\` tell
 * a cache still filling (its rise slows) or turning over (the S1–S2 cohort is evicted by S4) from
 * a leak; when stopped after the third, the three are analysed.
 */
const SNAPSHOT_COUNT = 4;
async function agentSnapshots(ctx: Parameters<SnapshotHook>[0]): Promise<SnapshotLeakGroup[]> {
  const files: string[] = [];
  for (let i = 1; i <= SNAPSHOT_COUNT; i++) {
    if (ctx.signal.aborted && i > 1) throw new LeakscopeError('E_FETCH', `interrupted after ${i - 1} of ${SNAPSHOT_COUNT} heap snapshots`);
    ctx.log(`taking heap snapshot ${i} of ${SNAPSHOT_COUNT} (the service pauses while it is written)`);
    const path = join(ctx.runDir, `snapshot-${i}.heapsnapshot`);
    await downloadSnapshot(`${ctx.base}/heapsnapshot?gc=1`, path, ctx.token, ctx.signal, ctx.maxBytes);
    files.push(path);
    if (i < SNAPSHOT_COUNT) await sleep(ctx.spacingMs ?? SNAPSHOT_SPACING_MS, ctx.signal);
  }
  if (ctx.signal.aborted) throw new LeakscopeError('E_FETCH', 'interrupted before the analysis of the heap snapshots');
  ctx.log(`finding the leaking classes across the ${files.length} heap snapshots`);
  const cli = fileURLToPath(new URL('../main.js', import.meta.url));
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'snapshot', 'leaks', ...files, '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Ctrl-C does not wait for the analysis: the report comes at once, the snapshots stay saved
    const stop = () => child.kill('SIGTERM');
    ctx.signal.addEventListener('abort', stop, { once: true });
    child.on('exit', () => ctx.signal.removeEventListener('abort', stop));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-2000)));
    child.on('error', (e) => reject(new LeakscopeError('E_IO', `snapshot leaks: ${e.message}`)));
    child.on('exit', (code) => {
      if (code === 0) resolve(stdout);
      else if (ctx.signal.aborted) reject(new LeakscopeError('E_FETCH', `interrupted during the analysis of the heap snapshots (saved: leakscope snapshot leaks ${files.join(' ')})`));
      else reject(new LeakscopeError('E_SNAPSHOT', `snapshot leaks failed: ${stderr.trim().split('\n').pop() ?? code}`));
    });
  });
  let groups: SnapshotLeakGroup[];
  try {
    groups = (JSON.parse(out) as { groups: SnapshotLeakGroup[] }).groups;
  } catch {
    throw new LeakscopeError('E_SNAPSHOT', 'snapshot leaks: output is not JSON');
  }
  await writeAtomic(join(ctx.runDir, 'snapshot-leaks.json'), out);
  return groups;
}

export async function runWatch(url: string, flags: WatchFlags, io: CliIO, signal: AbortSignal): Promise<WatchResult> {
  const base = pprofBase(url);
  const intervalMs = parseDuration(flags.interval ?? '10s', 'interval');
  if (intervalMs < 100) throw new LeakscopeError('E_USAGE', '--interval must be at least 100ms');
  const durationMs = flags.duration !== undefined ? parseDuration(flags.duration, 'duration') : undefined;
  const asked = splitMetrics(flags.profiles); // `metrics`: the agent's Prometheus text, kept for the GC view
  const kinds = parseKinds(asked.profiles, ['heap', 'goroutine']);
  const sensitivity = parseSensitivity(flags.sensitivity);
  const minSamples = intOption(flags['min-samples'], 'min-samples', 3, 10000);
  const token = flags.token ?? process.env.LEAKSCOPE_TOKEN;
  const maxBytes = byteSizeOption(flags['max-bytes'], 'max-bytes');
  if (flags.http !== undefined) checkListen(flags.http, token); // a bad --http fails before the run starts
  const labels = labelView({ by: flags.by, tagFocus: flags.tagfocus, tagIgnore: flags.tagignore }, numLabelUnits);
  if (!flags.quiet) for (const n of labels.notes) io.stderr(`${n}\n`);
  const started = Date.now();
  const outDir = flags.out ?? join('leakscope-runs', defaultRunDirName(base, new Date(started)));
  const run = await RunDir.create(outDir, { target: url, url: base, startedAt: new Date(started).toISOString(), intervalMs, profiles: kinds, tool: 'leakscope watch' });
  const metricsLog = asked.metrics ? new MetricsLog(run.dir) : undefined;
  const ui = flags.http !== undefined ? await startLiveView(run.dir, { http: flags.http, token, sensitivity, minSamples }, io) : undefined;
  const live = io.isTTY && !flags.json && !flags.markdown && !flags.quiet;
  const logs = !live && !flags.quiet;
  const fetchTimeout = Math.min(60000, Math.max(10000, 2 * intervalMs));

  const observations: Observation[] = [];
  const lastObs = new Map<LeakKind, Observation>();
  const pendingGap = new Map<LeakKind, boolean>();
  let segment = 0;
  let rounds = 0;
  let gaps = 0;
  let failedRounds = 0;
  let lastError = '';
  let status: string | undefined;
  if (ui && live) status = `live view in a browser: ${ui.url}`; // the screen is redrawn over stderr's line
  let analysis = analyzeLeaks([], { sensitivity, minSamples, firstDetected: false });
  let snapshotsState: 'idle' | 'running' | 'done' = 'idle';
  let snapshotLeaks: SnapshotLeakGroup[] | undefined;
  let snapshotPromise: Promise<void> | undefined;
  const notes: string[] = [];
  const fetchCost = new Map<LeakKind, number>();
  const catalogs = new Map<LeakKind, Map<string, SiteInfo>>();
  /** suspects the live view showed, by site, with the poll round they first appeared in */
  const liveSeen = new Map<string, { s: Suspect; round: number; elapsedMs: number }>();
  const lastPolled = new Map<LeakKind, number>();
  const slowNoted = new Set<LeakKind>();
  let round = 0;

  const draw = () => {
    const st = { target: base, runDir: run.dir, elapsedMs: Date.now() - started, durationMs, samples: rounds, gaps, status, analysis, columns: process.stdout.columns };
    if (live) io.stdout(`\x1b[H\x1b[J${renderLiveView(st)}`);
    else if (logs) io.stderr(renderLogLine(st));
  };
  if (live) io.stdout('\x1b[2J');

  while (!signal.aborted) {
    if (durationMs !== undefined && Date.now() - started >= durationMs) break;
    const roundStart = Date.now();
    const results: { kind: LeakKind; bytes?: Uint8Array; error?: string; time: number }[] = [];
    // A profile whose collection is slow (the agent's async census walks the heap and pauses the
    // service for seconds on a big one) is polled less often, so that collecting it takes at most
    // about a third of the wall time: watching must not become the outage.
    const due = kinds.filter((k) => {
      const every = pollEveryKind(k, fetchCost.get(k) ?? 0, intervalMs);
      return every === 1 || (lastPolled.get(k) ?? -Infinity) <= round - every;
    });
    round++;
    const seq = round;
    // One after the other: each fetch's cost is its own, and the target serves one at a time.
    for (const kind of due) {
      if (signal.aborted) break;
      const time = Date.now();
      lastPolled.set(kind, round - 1);
      try {
        // Ctrl-C does not wait for a hanging target: the report comes at once.
        const bytes = await unlessAborted(fetchBytes(profileUrl(base, kind), { token, timeoutMs: fetchTimeout, maxBytes, signal }), signal);
        const took = Date.now() - time;
        fetchCost.set(kind, fetchCost.has(kind) ? 0.5 * fetchCost.get(kind)! + 0.5 * took : took);
        results.push({ kind, bytes, time });
      } catch (e) {
        results.push({ kind, error: (e as Error).message, time });
      }
    }
    if (metricsLog && !signal.aborted) await scrapeInto(metricsLog, base, { token, timeoutMs: fetchTimeout, maxBytes, signal });
    for (const k of kinds) {
      const every = pollEvery(fetchCost.get(k) ?? 0, intervalMs);
      if (every > (k === 'promises' ? PROMISES_EVERY : 1) && !slowNoted.has(k)) {
        slowNoted.add(k);
        const msg = `${k} takes ${((fetchCost.get(k) ?? 0) / 1000).toFixed(1)}s to collect: polled every ${every} intervals to spare the target`;
        notes.push(msg);
        status = msg;
      }
    }
    if (signal.aborted) {
      // fetches cut short by Ctrl-C are not failures of the target
      for (let i = results.length - 1; i >= 0; i--) if (results[i]!.error) results.splice(i, 1);
      if (results.length === 0) break;
    }
    if (results.length === 0) {
      // nothing due this interval (slow profiles are spaced out): just wait
      await sleep(Math.max(0, roundStart + intervalMs - Date.now()), signal);
      continue;
    }
    results.sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind));
    const fresh: { kind: LeakKind; obs: Observation; file: string; totals: Record<string, number>; timeNanos: string; time: number }[] = [];
    const entries: IndexEntry[] = [];
    let restartReason: RestartReason | undefined;
    const verdicts: (RestartReason | undefined)[] = [];
    for (const r of results) {
      if (r.bytes) {
        try {
          const p = parseProfileBytes(r.bytes, profileUrl(base, r.kind), maxBytes);
          const file = await run.saveProfile(r.kind, r.bytes);
          if (!catalogs.has(r.kind)) catalogs.set(r.kind, new Map());
          const obs: Observation = { kind: r.kind, timeMs: r.time, summary: summarizeProfile(labels.transform ? labels.transform(p) : p, r.kind, catalogs.get(r.kind)), file: join(run.dir, file), gapBefore: pendingGap.get(r.kind) ?? false };
          const prev = lastObs.get(r.kind);
          const why = prev ? restartBetween(prev, obs, obs.gapBefore ?? false) : undefined;
          if (prev) verdicts.push(why);
          if (why && !restartReason) restartReason = why;
          fresh.push({ kind: r.kind, obs, file, totals: profileTotals(p), timeNanos: p.timeNanos.toString(), time: r.time });
          continue;
        } catch (e) {
          r.error = (e as Error).message;
        }
      }
      gaps++;
      lastError = r.error ?? 'unknown error';
      pendingGap.set(r.kind, true);
      entries.push({ seq, time: new Date(r.time).toISOString(), timeMs: r.time, profile: r.kind, segment, gap: true, error: lastError });
    }
    // A total that fell by half after a gap is a weak sign (an async census of a dozen resources
    // halves at any pause, as when the service writes heap snapshots): a restart only when every
    // profile of the round that can compare says so.
    const strong = verdicts.find((v) => v !== undefined && v !== 'total-drop-after-gap');
    if (strong) restartReason = strong;
    else if (restartReason && verdicts.some((v) => v === undefined)) restartReason = undefined;
    if (restartReason) {
      segment++;
      status = `target restarted (${restartReason}) — new segment ${segment + 1}`;
    }
    for (const f of fresh) {
      f.obs.segment = segment;
      if (restartReason) f.obs.restartReason = restartReason;
      observations.push(f.obs);
      lastObs.set(f.kind, f.obs);
      pendingGap.set(f.kind, false);
      entries.push({
        seq,
        time: new Date(f.time).toISOString(),
        timeMs: f.time,
        profile: f.kind,
        file: f.file,
        totals: f.totals,
        timeNanos: f.timeNanos,
        segment,
        ...(restartReason ? { restart: restartReason } : {}),
      });
    }
    entries.sort((a, b) => kinds.indexOf(a.profile) - kinds.indexOf(b.profile));
    await run.append(...entries);
    if (fresh.length > 0) {
      rounds++;
      failedRounds = 0;
      if (!restartReason && status?.startsWith('target unreachable')) status = undefined;
      analysis = analyzeLeaks(observations, { sensitivity, minSamples, firstDetected: false, maxPoints: 120 });
      for (const s of analysis.suspects) {
        const id = suspectId(s);
        if (!liveSeen.has(id)) liveSeen.set(id, { s, round: rounds, elapsedMs: Date.now() - started });
      }
    } else failedRounds++;
    if (fresh.length < results.length) status = `target unreachable (${lastError})${failedRounds > 0 ? `; retrying with backoff` : ''}`;

    // --snapshots: the first time a heap site is confirmed, take four snapshots through the agent,
    // spread over the rest of the run (snapshotSpacingMs).
    if (flags.snapshots && snapshotsState === 'idle' && analysis.suspects.some((s) => s.profile === 'heap' && !s.file.endsWith('.go'))) {
      snapshotsState = 'running';
      if (!snapshotHook) {
        notes.push('--snapshots: the heap-snapshot leak finder is not available in this build');
        snapshotsState = 'done';
      } else {
        status = 'heap site confirmed: taking four heap snapshots through the agent (the service pauses while each is written)';
        const hook = snapshotHook;
        const spacingMs = snapshotSpacingMs(durationMs !== undefined ? started + durationMs - Date.now() : undefined);
        snapshotPromise = hook({ base, token, runDir: run.dir, signal, log: (s) => (status = s), maxBytes, spacingMs }).then(
          (groups) => {
            snapshotLeaks = groups;
            snapshotsState = 'done';
            status = `heap snapshots analyzed: ${groups.length} growing class${groups.length === 1 ? '' : 'es'}`;
          },
          (e: unknown) => {
            notes.push(`--snapshots failed: ${(e as Error).message}`);
            snapshotsState = 'done';
          },
        );
      }
    }
    draw();
    // one-off messages: shown once in the log, kept on screen in the live view until replaced
    if (!live && (status?.startsWith('target restarted') || / to collect: polled every /.test(status ?? ''))) status = undefined;

    const wait = failedRounds > 0 ? Math.min(intervalMs * 2 ** failedRounds, Math.max(intervalMs, 60000)) : intervalMs;
    const until = roundStart + wait;
    const endAt = durationMs !== undefined ? Math.min(until, started + durationMs) : until;
    while (!signal.aborted && Date.now() < endAt) {
      await sleep(Math.min(1000, endAt - Date.now()), signal);
      if (live && !signal.aborted) draw();
    }
  }
  if (snapshotPromise) {
    if (signal.aborted) notes.push('stopped by Ctrl-C while heap snapshots were being taken');
    await snapshotPromise;
  }
  if (signal.aborted) notes.unshift('stopped by Ctrl-C: this report covers what was collected');
  if (live) io.stdout('\x1b[H\x1b[J');
  await ui?.close();
  if (observations.length === 0) {
    throw new LeakscopeError('E_FETCH', `no profile could be fetched from ${base}${lastError ? ` (${lastError})` : ''}; run directory ${run.dir}`);
  }
  const final = analyzeLeaks(observations, { sensitivity, minSamples });
  addConfiguredSites(final);
  // a suspect whose function stores into what the snapshots show to be a cache (lru-cache's max,
  // a Map that removes entries, a rise that slows) becomes a near miss that says so
  // and a near miss whose function stores into what the snapshots show leaking is confirmed
  if (snapshotLeaks) {
    setAsideSnapshotCaches(final, snapshotLeaks, readSource);
    confirmFromSnapshots(final, snapshotLeaks, readSource);
  }
  // A suspect the live view showed is never dropped from the report without a word: the final
  // analysis lists those it finds confirmed earlier; any other gets a note with its end verdict.
  for (const [id, seen] of liveSeen) {
    if (final.suspects.some((s) => suspectId(s) === id)) continue;
    if (final.nearMisses.some((m) => m.heldAtSample !== undefined && suspectId(m) === id)) continue;
    const m = final.nearMisses.find((x) => suspectId(x) === id);
    const why = m ? (m.cache ?? `${m.reason} at the end`) : 'its growth at the end was too small to judge';
    const s = seen.s;
    notes.push(`${s.name} at ${s.file}${s.line > 0 ? `:${s.line}` : ''} (${s.profile}) was a suspect in the live view from sample ${seen.round} (${Math.round(seen.elapsedMs / 1000)}s in); not confirmed over the whole run: ${why}`);
  }
  const meta: ReportMeta = {
    target: base,
    runDir: run.dir,
    samples: rounds,
    durationMs: Date.now() - started,
    gaps,
    ...(snapshotLeaks ? { snapshotLeaks } : {}),
    notes,
  };
  return { analysis: final, meta };
}

function suspectId(s: { profile: LeakKind; name: string; file: string }): string {
  return `${s.profile}\u0000${s.name}\u0000${s.file}`;
}

export function writeReport(io: CliIO, r: WatchResult, flags: { json?: boolean; markdown?: boolean; 'fail-on-leak'?: boolean }): number {
  if (flags.json) io.stdout(JSON.stringify(leakReportJson(r.analysis, r.meta), null, 2) + '\n');
  else if (flags.markdown) io.stdout(renderLeakMarkdown(r.analysis, r.meta));
  else io.stdout(renderLeakText(r.analysis, r.meta));
  return flags['fail-on-leak'] && r.analysis.suspects.length > 0 ? 3 : 0;
}

export const watchCommand: CommandSpec = {
  usage: `usage: leakscope watch [flags] <url>
       leakscope watch [flags] --targets FILE | --prometheus URL --job NAME | <url> <url>...
  <url>                 pprof base: http://host:6060 or http://host:6060/debug/pprof (Go or the leakscope agent)
  --interval D          time between polls (default 10s; 500ms, 2m, …)
  --duration D          stop after D (default: until Ctrl-C)
  --profiles LIST       heap,goroutine (default); for the Node agent async (its census) and promises
                        (pending promises: polled every 3rd interval or less often, the count walks
                        the heap and pauses the service); metrics (the agent's Prometheus text,
                        kept for the GC view of leakscope web <run-dir>)
  --token T             bearer token for the leakscope agent (or LEAKSCOPE_TOKEN)
  -o, --out DIR         run directory (default ./leakscope-runs/<target>-<time>/)
  --sensitivity S       low | normal (default) | high
  --min-samples N       samples before any verdict (default 5)
  --snapshots           Node agent: when a heap site is confirmed, take four heap snapshots
                        (pauses the service) and name the leaking class and its retainers;
                        with --duration they are spread over the rest of the run
  --max-bytes N         most bytes read per poll (default 512MiB) and per heap snapshot
                        (default 8GiB); 2GB, 1GiB…; or LEAKSCOPE_MAX_BYTES
  --json | --markdown   report format (default text)
  --fail-on-leak        exit 3 when there is a suspect
  --by LABEL            one series per value of a sample label (Go's pprof.Do labels such as route):
                        sites are named "fn {route=/api/users}"; samples without it stay as they are
  --tagfocus T, --tagignore T  watch only the samples with (without) a label matching T, as in
                        top (route=/api/users, bytes=64kb:)
  -q, --quiet           no live view or progress lines
  --http ADDR           also serve the live heap-over-time page (as leakscope web <run-dir>) on
                        ADDR, e.g. 127.0.0.1:0; its URL goes to stderr; beyond loopback needs --token
 many targets (one run directory each under the fleet directory -o, a ranked fleet report):
  --targets FILE        Prometheus file_sd file (JSON or YAML), re-read every interval
  --prometheus URL      discover the targets of --job NAME from Prometheus' /api/v1/targets
  --job NAME            the job (with --prometheus; with plain URLs it labels them)
  --concurrency N       targets polled at once (default 8)
  --timeout D           per-fetch timeout over a fleet (default: the interval, 5s to 30s)
  --pprof-port N        discovered targets serve /debug/pprof on port N, not on their scrape port`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<FleetFlags>(argv, watchOptions, 'watch');
    if (isFleetInvocation(positionals, values)) return (await import('../fleet-command.js')).runFleetCommand(positionals, values, io);
    for (const f of ['concurrency', 'timeout', 'job', 'pprof-port'] as const) if (values[f] !== undefined) throw new LeakscopeError('E_USAGE', `--${f} is for many targets (--targets, --prometheus or several URLs)`);
    if (positionals.length !== 1) throw new LeakscopeError('E_USAGE', 'give exactly one URL (a pprof base such as http://127.0.0.1:6060)');
    return untilInterrupted(io, 'watch', async (signal) => {
      const r = await runWatch(positionals[0]!, values, io, signal);
      const code = writeReport(io, r, values);
      if (!values.json && !values.markdown && !values.quiet) io.stderr(`leakscope watch: profiles saved in ${r.meta.runDir}\n`);
      return code;
    });
  },
};
