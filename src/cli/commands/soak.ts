/**
 * `leakscope soak [flags] -- <command…>` / `leakscope soak --url URL --pprof URL`: start the
 * service (a Node command gets the agent through `--import leakscope/register`), wait until it
 * listens, load it with autocannon in rounds (after a warm-up), watch it with the `watch` engine,
 * read its runtime metrics, stop everything it started, and print one verdict. `--save` stores the
 * run's figures; `--baseline` compares with them (core/compare.ts) and exits 4 on a regression
 * (3 stays "leak suspect"). `--against DIR` starts the same command in DIR (the baseline build)
 * beside this one and alternates their rounds, so that the machine's drift falls on both alike.
 */
import { setMaxListeners } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { CliIO, CommandSpec } from '../io.js';
import { byteSizeOption, intOption, parseCommandArgs } from '../args.js';
import { LeakscopeError } from '../../core/errors.js';
import { compareRuns, GATE_METRICS, parseMaxRegression, type Figure, type Figures } from '../../core/compare.js';
import { gateFigures, runtimeFigures, type LoadRound } from '../../core/soak-figures.js';
import { writeAtomic } from '../../node/run-dir.js';
import { renderSoakJunit, renderSoakMarkdown, renderSoakText, soakJson, verdictOf, exitCodeOf, type SoakData, type SoakSettings } from '../../report/soak.js';
import { parseDuration, pprofBase, runWatch, type WatchResult } from './watch.js';
import { agentOrWhy, freePort, isNodeCommand, listenPort, registerUrl, startService, waitListening, type StartedService } from '../soak-service.js';
import { loadRound, type LoadOptions } from '../soak-load.js';
import { readMetrics, type MetricsReader } from '../soak-metrics.js';
import { readRequests, weightedSequence } from '../soak-requests.js';

const soakOptions = {
  url: { type: 'string' },
  pprof: { type: 'string' },
  'no-agent': { type: 'boolean' },
  rate: { type: 'string' },
  connections: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  rounds: { type: 'string' },
  requests: { type: 'string' },
  'start-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  interval: { type: 'string' },
  profiles: { type: 'string' },
  sensitivity: { type: 'string' },
  'min-samples': { type: 'string' },
  snapshots: { type: 'boolean' },
  token: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'max-bytes': { type: 'string' },
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  junit: { type: 'string' },
  save: { type: 'string' },
  baseline: { type: 'string' },
  against: { type: 'string' },
  'max-regression': { type: 'string' },
  'echo-service': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

interface SoakFlags {
  url?: string;
  pprof?: string;
  'no-agent'?: boolean;
  rate?: string;
  connections?: string;
  duration?: string;
  warmup?: string;
  rounds?: string;
  requests?: string;
  'start-timeout'?: string;
  'request-timeout'?: string;
  interval?: string;
  profiles?: string;
  sensitivity?: string;
  'min-samples'?: string;
  snapshots?: boolean;
  token?: string;
  out?: string;
  'max-bytes'?: string;
  json?: boolean;
  markdown?: boolean;
  junit?: string;
  save?: string;
  baseline?: string;
  against?: string;
  'max-regression'?: string;
  'echo-service'?: boolean;
  quiet?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Baselines

export interface SoakBaseline {
  format: 'leakscope-soak-baseline';
  version: 1;
  savedAt: string;
  settings: SoakSettings;
  figures: Figures;
}

function isFigure(v: unknown): v is Figure {
  const f = v as Figure;
  return typeof f === 'object' && f !== null && typeof f.value === 'number' && Array.isArray(f.rounds) && f.rounds.every((x) => typeof x === 'number' && Number.isFinite(x));
}

export function parseBaseline(text: string, file: string): SoakBaseline {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new LeakscopeError('E_MALFORMED', `${file}: not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const b = j as Partial<SoakBaseline>;
  if (typeof b !== 'object' || b === null || b.format !== 'leakscope-soak-baseline') throw new LeakscopeError('E_MALFORMED', `${file}: not a leakscope soak baseline (no "format": "leakscope-soak-baseline"; write one with --save)`);
  if (b.version !== 1) throw new LeakscopeError('E_MALFORMED', `${file}: baseline version ${String(b.version)} is not supported (1)`);
  if (typeof b.figures !== 'object' || b.figures === null) throw new LeakscopeError('E_MALFORMED', `${file}: baseline has no figures`);
  for (const [k, v] of Object.entries(b.figures)) {
    if (!GATE_METRICS.includes(k as never)) throw new LeakscopeError('E_MALFORMED', `${file}: unknown figure "${k}"`);
    if (!isFigure(v)) throw new LeakscopeError('E_MALFORMED', `${file}: figure "${k}" is not {value: number, rounds: number[]}`);
  }
  if (typeof b.settings !== 'object' || b.settings === null) throw new LeakscopeError('E_MALFORMED', `${file}: baseline has no settings`);
  return { format: b.format, version: 1, savedAt: typeof b.savedAt === 'string' ? b.savedAt : 'unknown', settings: b.settings, figures: b.figures };
}

async function loadBaseline(file: string): Promise<SoakBaseline> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new LeakscopeError('E_IO', `--baseline ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseBaseline(text, file);
}

// ---------------------------------------------------------------------------------------------

function positiveNumber(v: string | undefined, name: string, dflt: number | undefined, max: number): number | undefined {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) throw new LeakscopeError('E_USAGE', `--${name} must be a number above 0 and at most ${max}, got "${v}"`);
  return n;
}

const sub = (s: string, port: number | undefined) => (port === undefined ? s : s.replaceAll('{port}', String(port)));

export async function runSoak(flags: SoakFlags, command: string[], io: CliIO, signal: AbortSignal): Promise<{ data: SoakData; elapsedMs: number; interrupted?: string }> {
  // ---- flags, all checked before anything starts
  const rate = positiveNumber(flags.rate, 'rate', undefined, 1_000_000);
  const connections = intOption(flags.connections, 'connections', 1, 10_000) ?? 10;
  const durationMs = parseDuration(flags.duration ?? '60s', 'duration');
  const warmupMs = flags.warmup !== undefined ? parseDuration(flags.warmup, 'warmup') : Math.min(10_000, durationMs / 5);
  const rounds = intOption(flags.rounds, 'rounds', 1, 100) ?? 5;
  const startTimeoutMs = parseDuration(flags['start-timeout'] ?? '30s', 'start-timeout');
  const requestTimeout = positiveNumber(flags['request-timeout'], 'request-timeout', 10, 600)!;
  if (durationMs / rounds < 500) throw new LeakscopeError('E_USAGE', `--duration ${flags.duration ?? '60s'} over ${rounds} rounds leaves less than 0.5s per round`);
  const thresholds = parseMaxRegression(flags['max-regression']);
  if (flags['max-bytes'] !== undefined) byteSizeOption(flags['max-bytes'], 'max-bytes');
  if (command.length === 0 && flags.url === undefined) throw new LeakscopeError('E_USAGE', 'give a command after -- (the service to start) or --url URL of a running service');
  if (command.length === 0 && /\{port\}/.test(`${flags.url}${flags.pprof ?? ''}`)) throw new LeakscopeError('E_USAGE', '{port} is only replaced in the command soak starts');
  const requests = flags.requests !== undefined ? weightedSequence(await readRequests(flags.requests)) : undefined;
  let against: string | undefined;
  if (flags.against !== undefined) {
    if (flags.baseline !== undefined) throw new LeakscopeError('E_USAGE', '--against DIR and --baseline FILE are two ways to give the baseline: use one');
    if (command.length === 0) throw new LeakscopeError('E_USAGE', '--against DIR starts the command in DIR too: give the command after --');
    for (const [f, v] of [['url', flags.url], ['pprof', flags.pprof]] as const) {
      if (v !== undefined && !v.includes('{port}')) throw new LeakscopeError('E_USAGE', `--against: --${f} needs {port} (the two builds listen on ports of their own)`);
    }
    against = resolvePath(flags.against);
    const st = await stat(against).catch(() => undefined);
    if (!st?.isDirectory()) throw new LeakscopeError('E_USAGE', `--against ${flags.against}: not a directory`);
  }
  const baseline = flags.baseline !== undefined ? await loadBaseline(flags.baseline) : undefined;
  const log = (s: string) => {
    if (!flags.quiet) io.stderr(`leakscope soak: ${s}\n`);
  };
  const notes: string[] = [];

  // ---- the services: the one under test and, with --against, the baseline build beside it
  interface Target {
    /** in messages: "the service" / "the baseline build" */
    name: string;
    cwd?: string;
    argv: string[];
    env: Record<string, string>;
    port?: number;
    url: string;
    pprof?: string;
    injected: boolean;
    noAgent?: string;
    svc?: StartedService;
    watchP?: Promise<WatchResult>;
    metrics?: MetricsReader;
    warmup?: LoadRound;
    measured: LoadRound[];
  }
  const prepare = async (name: string, cwd: string | undefined): Promise<Target> => {
    let port: number | undefined;
    let argv = command;
    const env: Record<string, string> = {};
    let pprof = flags.pprof;
    if (command.length > 0) {
      port = await freePort();
      env.PORT = String(port);
      argv = command.map((a) => sub(a, port));
    }
    const url = sub(flags.url ?? 'http://127.0.0.1:{port}/', port);
    try {
      new URL(url);
    } catch {
      throw new LeakscopeError('E_USAGE', `--url "${url}" is not a URL`);
    }
    // The agent: a node command gets `--import leakscope/register` (the agent starts with the
    // process). Any other command (`npm start`, `npx tsx server.ts`, a script that runs node) gets
    // it through NODE_OPTIONS, which every node process it starts inherits; LEAKSCOPE_START makes
    // it start only in the process that listens on the load's port, so npm's, npx's or tsx's own
    // node never takes the agent's port.
    let injected = false;
    if (command.length > 0 && !flags['no-agent'] && pprof === undefined) {
      const agentPort = await freePort();
      env.LEAKSCOPE_ADDR = `127.0.0.1:${agentPort}`;
      if (flags.token) env.LEAKSCOPE_TOKEN = flags.token;
      if (isNodeCommand(argv[0]!)) argv = [argv[0]!, '--import', registerUrl(), ...argv.slice(1)];
      else {
        env.NODE_OPTIONS = [process.env.NODE_OPTIONS?.trim(), `--import ${registerUrl()}`].filter(Boolean).join(' ');
        const lp = listenPort(url);
        env.LEAKSCOPE_START = lp !== undefined ? `listen:${lp}` : 'listen';
      }
      pprof = `http://127.0.0.1:${agentPort}/debug/pprof`;
      injected = true;
    }
    if (pprof !== undefined) pprof = pprofBase(sub(pprof, port));
    return { name, ...(cwd ? { cwd } : {}), argv, env, ...(port !== undefined ? { port } : {}), url, ...(pprof ? { pprof } : {}), injected, measured: [] };
  };

  const targets: Target[] = [];
  const t0 = Date.now();
  try {
    const cur = await prepare('the service', undefined);
    targets.push(cur);
    const base = against !== undefined ? await prepare('the baseline build', against) : undefined;
    if (base) targets.push(base);
    const settings: SoakSettings = { url: cur.url, ...(cur.pprof ? { pprof: cur.pprof } : {}), ...(command.length ? { command } : {}), ...(rate ? { rate } : {}), connections, warmupMs, durationMs, rounds };

    for (const t of targets) {
      if (command.length === 0) continue;
      log(`starting ${t.argv.join(' ')}${t.cwd ? ` in ${t.cwd} (the baseline build)` : ''} (PORT=${t.port}${t.injected ? `, agent on ${t.env.LEAKSCOPE_ADDR}${t.env.NODE_OPTIONS ? ' through NODE_OPTIONS' : ''}` : ''})`);
      t.svc = startService(t.argv, t.env, flags['echo-service'] ? (s) => io.stderr(s) : () => {}, t.cwd);
    }
    let waited = 0;
    for (const t of targets) {
      // a service soak did not start is there or not: a short wait unless --start-timeout says more
      const firstWait = t.svc || flags['start-timeout'] !== undefined ? startTimeoutMs : 2000;
      const w = await waitListening(t.url, t.svc ? t.name : t.url, t.svc, firstWait, signal);
      waited = Math.max(waited, w);
      if (t.pprof && t.injected && !isNodeCommand(t.argv[0]!)) {
        // a wrapper (npm, npx, a shell script) may or may not run node: no agent is no failure
        const why = await agentOrWhy(t.pprof, t.svc!, Math.max(2000, Math.min(10_000, startTimeoutMs - w)), signal);
        if (why) {
          t.noAgent = why;
          delete t.pprof;
          if (t === cur) delete settings.pprof;
        }
      } else if (t.pprof) await waitListening(t.pprof, t.injected ? `the leakscope agent injected into ${t.name}` : 'the pprof endpoint', t.svc, Math.max(2000, startTimeoutMs - w), signal);
    }
    log(`listening after ${(waited / 1000).toFixed(1)}s; warm-up ${(warmupMs / 1000).toFixed(1)}s, then ${rounds} rounds over ${(durationMs / 1000).toFixed(1)}s${base ? `, each round of the baseline build and of this one in turn (${base.cwd})` : ''}`);

    // ---- watch + metrics + load, all under one abort
    const run = new AbortController();
    setMaxListeners(0, run.signal); // the watches, the metrics readers and each round listen to it
    const stopRun = () => run.abort();
    signal.addEventListener('abort', stopRun, { once: true });
    let crashed: string | undefined;
    for (const t of targets) {
      t.svc?.exited.then(({ code, signal: sig }) => {
        if (!run.signal.aborted) {
          const tail = t.svc!.tail().trim().split('\n').filter(Boolean).pop() ?? '';
          crashed = `${t.name} exited (${sig ? `signal ${sig}` : `code ${code}`}) during the load${tail ? `: ${tail.slice(0, 200)}` : ''}`;
          run.abort();
        }
      });
    }
    const loadStart = Date.now();
    const totalMs = targets.length * (warmupMs + durationMs);
    const intervalFlag = flags.interval ?? `${Math.max(1000, Math.round(totalMs / 30))}ms`;
    const watchIo: CliIO = { stdout: () => {}, stderr: () => {}, isTTY: false };
    const token = flags.token ?? process.env.LEAKSCOPE_TOKEN;
    for (const t of targets) {
      // both builds are watched alike (each poll forces a GC in the service): no bias between them
      if (t.pprof) {
        const out = t === cur ? flags.out : flags.out !== undefined ? `${flags.out}-baseline` : undefined;
        t.watchP = runWatch(t.pprof, { interval: intervalFlag, duration: `${totalMs}ms`, quiet: true, out, profiles: flags.profiles, sensitivity: flags.sensitivity, 'min-samples': flags['min-samples'], snapshots: flags.snapshots, token, 'max-bytes': flags['max-bytes'] }, watchIo, run.signal);
        t.watchP.catch(() => {}); // awaited below
      }
      t.metrics = readMetrics({ pprofBase: t.pprof, token, pgid: t.svc?.pid, everyMs: Math.max(250, Math.min(1000, durationMs / rounds / 8)), t0: loadStart });
    }
    const stopMetrics = () => Promise.all(targets.map((t) => t.metrics?.stop()));
    const settle = () => Promise.all(targets.map((t) => t.watchP?.catch(() => undefined)));

    const loadOf = (t: Target): LoadOptions => ({ url: t.url, connections, ...(rate ? { rate } : {}), ...(requests ? { requests } : {}), timeoutSec: requestTimeout });
    const label = (t: Target) => (base ? (t === base ? ' (baseline build)' : ' (this build)') : '');
    let measuredFrom = 0;
    try {
      if (warmupMs > 0) {
        for (const t of targets) {
          if (run.signal.aborted) break;
          t.warmup = await loadRound(loadOf(t), warmupMs, loadStart, run.signal);
          log(`warm-up${label(t)}: ${t.warmup.requests} requests, ${t.warmup.rps.toFixed(0)} req/s, p99 ${t.warmup.p99}ms`);
        }
      }
      measuredFrom = Date.now() - loadStart;
      // with a baseline build beside: its rounds and ours alternate, A B B A A B …, so that the
      // machine's drift over the run falls on both alike
      for (let r = 0; r < rounds && !run.signal.aborted; r++) {
        const order = base ? (r % 2 === 0 ? [base, cur] : [cur, base]) : [cur];
        for (const t of order) {
          if (run.signal.aborted) break;
          const lr = await loadRound(loadOf(t), durationMs / rounds, loadStart, run.signal);
          if (run.signal.aborted) break;
          t.measured.push(lr);
          log(`round ${r + 1}/${rounds}${label(t)}: ${lr.requests} requests, ${lr.rps.toFixed(0)} req/s, p99 ${lr.p99}ms, errors ${lr.errors + lr.non2xx}`);
        }
      }
    } finally {
      if (run.signal.aborted || crashed) await stopMetrics();
    }
    if (crashed) {
      await settle();
      throw new LeakscopeError('E_FETCH', crashed);
    }
    // Ctrl-C: the rounds measured so far make the report (as watch's on Ctrl-C); the round cut
    // short is not counted. Interrupted before the first measured round: nothing to report.
    const interrupted = signal.aborted;
    const measured = cur.measured;
    if (interrupted && measured.length === 0) {
      await stopMetrics();
      await settle();
      throw new LeakscopeError('E_FETCH', `interrupted (Ctrl-C) during the warm-up, before the first measured round; the service was stopped`);
    }
    // the watches end at their planned duration (warm-up + rounds): wait for their last poll
    let watched: WatchResult | undefined;
    let leaksUnavailable: string | undefined;
    if (cur.watchP) {
      try {
        watched = await cur.watchP;
      } catch (e) {
        leaksUnavailable = `watch failed: ${(e as Error).message}`;
      }
    } else leaksUnavailable = cur.noAgent ?? 'no pprof endpoint to watch: give --pprof (a Go service), or drop --no-agent for a Node one';
    const baseWatched = base?.watchP ? await base.watchP.catch(() => undefined) : undefined;
    await stopMetrics();
    signal.removeEventListener('abort', stopRun);
    if (crashed) throw new LeakscopeError('E_FETCH', crashed);

    const figuresOf = (t: Target) => {
      const runtime = runtimeFigures(t.metrics!.samples, measuredFrom, t.metrics!.source());
      return { runtime, figures: gateFigures(t.measured, t.metrics!.samples, runtime) };
    };
    const { runtime, figures } = figuresOf(cur);
    const warmup = cur.warmup;
    const data: SoakData = { settings, ...(warmup ? { warmup } : {}), rounds: measured, runtime, ...(watched ? { leaks: watched } : {}), ...(leaksUnavailable ? { leaksUnavailable } : {}), notes };
    if (interrupted) notes.unshift(`interrupted (Ctrl-C) after ${measured.length} of ${rounds} round${rounds === 1 ? '' : 's'}: this report covers what was collected`);
    if (measured.length > 0 && measured.every((r) => r.requests === 0)) notes.push('no request was answered: check --url and --requests');
    if (base) {
      const bs = baseWatched?.analysis.suspects ?? [];
      if (bs.length > 0) notes.push(`the baseline build has leak suspects too: ${bs.map((x) => x.name).slice(0, 3).join(', ')}${bs.length > 3 ? ', …' : ''}${baseWatched?.meta.runDir ? ` (its profiles: ${baseWatched.meta.runDir})` : ''}`);
      data.gate = { baselineFile: `${base.cwd} (the baseline build, interleaved round by round)`, savedAt: new Date(t0).toISOString(), result: compareRuns(figuresOf(base).figures, figures, thresholds) };
    }
    if (baseline) {
      const b = baseline.settings;
      const diff: string[] = [];
      if (b.rate !== settings.rate) diff.push(`rate ${b.rate ?? 'full speed'} → ${settings.rate ?? 'full speed'}`);
      if (b.connections !== settings.connections) diff.push(`connections ${b.connections} → ${settings.connections}`);
      if (b.durationMs / b.rounds !== durationMs / rounds) diff.push(`round length ${b.durationMs / b.rounds}ms → ${durationMs / rounds}ms`);
      if (diff.length) notes.push(`the baseline ran with other settings (${diff.join(', ')}): the comparison is not like for like`);
      data.gate = { baselineFile: flags.baseline!, savedAt: baseline.savedAt, result: compareRuns(baseline.figures, figures, thresholds) };
    }
    if (flags.save && interrupted) notes.push(`--save ${flags.save}: not written, an interrupted run is no baseline`);
    else if (flags.save) {
      const b: SoakBaseline = { format: 'leakscope-soak-baseline', version: 1, savedAt: new Date().toISOString(), settings, figures };
      try {
        await writeAtomic(flags.save, JSON.stringify(b, null, 2) + '\n');
      } catch (e) {
        throw new LeakscopeError('E_IO', `--save ${flags.save}: ${(e as Error).message}`);
      }
      data.savedBaseline = flags.save;
    }
    return { data, elapsedMs: Date.now() - t0, ...(interrupted ? { interrupted: `interrupted after ${measured.length} of ${rounds} round${rounds === 1 ? '' : 's'}` } : {}) };
  } finally {
    await Promise.all(targets.map((t) => t.svc?.stop()));
  }
}

export const soakCommand: CommandSpec = {
  usage: `usage: leakscope soak [flags] -- <command…>     start the service, load it, watch it, one verdict
       leakscope soak [flags] --url URL [--pprof URL]   a service that is already running
  --url URL             where the load goes (default http://127.0.0.1:{port}/: soak picks a free
                        port, passes it as PORT and replaces {port} in the command)
  --pprof URL           its pprof endpoint (Go net/http/pprof or the leakscope agent); a Node command
                        gets the agent injected (--import leakscope/register) unless --no-agent
  --rate N              requests per second over all connections (default: as fast as it answers)
  --connections N       concurrent connections (default 10)
  --duration D          measured load, split in --rounds (default 60s)
  --warmup D            load before measuring, not counted (default duration/5, at most 10s)
  --rounds N            rounds of load, each with its own figures for the gate (default 5)
  --requests FILE       the requests, one a line: "[WEIGHT] METHOD /path" or JSON
                        {"weight","method","path","headers","body"}
  --start-timeout D     time to wait until the service listens (default 30s)
  --request-timeout S   seconds before a request counts as an error (default 10)
  --interval D          watch's poll interval (default: the run's length / 30, at least 1s)
  --profiles --sensitivity --min-samples --snapshots --token -o/--out --max-bytes   as watch
  --json | --markdown   report format (default text); --junit FILE also writes JUnit XML
  --save FILE           store this run's figures as a baseline
  --baseline FILE       compare with a baseline: exit 4 on a regression
  --against DIR         compare with the baseline build in DIR, run beside this one: the same
                        command started in DIR, rounds alternating between the two (exit 4 on a
                        regression); immune to the machine's drift between two runs
  --max-regression L    limits, e.g. p99=10%,rps=5%,errors=0.5pp,rss-slope=1MiB/min (the default;
                        also p50, p90, max, heap-slope; metric=off drops one)
  --echo-service        copy the service's stdout/stderr to stderr
  -q, --quiet           no progress lines
exit: 0 pass, 3 leak suspect, 4 regression against the baseline, 1 failure, 2 usage`,
  async run(argv, io) {
    const dd = argv.indexOf('--');
    const own = dd >= 0 ? argv.slice(0, dd) : argv;
    const command = dd >= 0 ? argv.slice(dd + 1) : [];
    const { values, positionals } = parseCommandArgs<SoakFlags>(own, soakOptions, 'soak');
    if (positionals.length > 0) throw new LeakscopeError('E_USAGE', `unexpected "${positionals[0]}": put the service's command after --`);
    if (dd >= 0 && command.length === 0) throw new LeakscopeError('E_USAGE', 'no command after --');
    const ctrl = new AbortController();
    let interrupts = 0;
    const onSignal = () => {
      interrupts++;
      if (interrupts === 1) {
        io.stderr('leakscope soak: stopping (Ctrl-C); stopping the service and writing the report for what was collected\n');
        ctrl.abort();
      } else process.exit(130); // the exit hook still stops the service's process group
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { data, elapsedMs, interrupted } = await runSoak(values, command, io, ctrl.signal);
      // runSoak stopped the service before it returned
      if (interrupted) io.stderr(`leakscope soak: ${interrupted} (Ctrl-C); the service was stopped; the report covers the rounds measured\n`);
      if (values.junit) {
        try {
          await writeAtomic(values.junit, renderSoakJunit(data, elapsedMs));
        } catch (e) {
          throw new LeakscopeError('E_IO', `--junit ${values.junit}: ${(e as Error).message}`);
        }
      }
      if (values.json) io.stdout(JSON.stringify(soakJson(data), null, 2) + '\n');
      else if (values.markdown) io.stdout(renderSoakMarkdown(data));
      else io.stdout(renderSoakText(data));
      if (data.leaks?.meta.runDir && !values.quiet && !values.json && !values.markdown) io.stderr(`leakscope soak: profiles saved in ${data.leaks.meta.runDir}\n`);
      return exitCodeOf(verdictOf(data));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
