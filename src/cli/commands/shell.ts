/**
 * `leakscope shell <profile|url>...` (and `leakscope <profile|url>...` with no command): go tool
 * pprof's interactive mode. The sources are loaded once; each command line becomes the argv of the
 * matching leakscope command (cli/shell-vars.ts) and runs, through the same CommandSpec, on a runner
 * thread that holds the loaded profiles (cli/shell-worker.ts) — so the output is the command's, byte
 * for byte, and Ctrl-C can stop a command (the runner is terminated and a fresh one started) without
 * leaving the shell. On a terminal: node:readline's line editing, history and completion; otherwise
 * commands are read line by line from stdin, with no prompt.
 */
import { writeFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { LeakscopeError } from '../../core/errors.js';
import type { Profile } from '../../core/profile.js';
import { compileGoRegex } from '../../core/regex.js';
import { sampleIndex } from '../../core/select.js';
import { scaledLabel } from '../../core/units.js';
import { loadProfile, usePreloadedProfiles } from '../../node/source.js';
import { prepareReport } from '../../report/prepare.js';
import { profileLabels } from '../../report/top.js';
import { parseCommandArgs } from '../args.js';
import type { CliIO, CommandSpec } from '../io.js';
import { fetchOptionsFrom, loadReportInput, reportFlagHelp, reportFlagSpec, type ReportFlagValues } from '../report-flags.js';
import type { RunnerMessage, ShellWorkerData } from '../shell-worker.js';
import { flagOf, PPROF_GROUPS, PPROF_VARS, SHELL_COMMANDS, ShellState, type FlagSpec } from '../shell-vars.js';

const PROMPT = '(leakscope) ';

/** One runner thread at a time; a command cancelled is a runner terminated. */
class Runner {
  private worker: Worker | undefined;
  private pending: ((code: number) => void) | undefined;
  private onOut: (s: string) => void = () => {};
  private onErr: (s: string) => void = () => {};

  constructor(private readonly data: ShellWorkerData) {}

  private start(): Worker {
    const w = new Worker(new URL('../shell-worker.js', import.meta.url), { workerData: this.data });
    w.on('message', (m: RunnerMessage) => {
      if (m.t === 'out') this.onOut(m.s);
      else if (m.t === 'err') this.onErr(m.s);
      else this.finish(m.code);
    });
    // only the current thread's end settles the command (a cancelled one's comes after the next starts)
    w.on('error', (e) => {
      if (this.worker !== w) return;
      this.onErr(`internal error: ${e.message}\n`);
      this.worker = undefined;
      this.finish(1);
    });
    w.on('exit', () => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.finish(1);
    });
    return w;
  }

  private finish(code: number): void {
    const p = this.pending;
    this.pending = undefined;
    p?.(code);
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  run(argv: string[], onOut: (s: string) => void, onErr: (s: string) => void): Promise<number> {
    this.worker ??= this.start();
    this.onOut = onOut;
    this.onErr = onErr;
    return new Promise((resolve) => {
      this.pending = resolve;
      this.worker!.postMessage({ argv });
    });
  }

  /** Stops the command running (the thread with it); the next run starts a fresh thread. */
  async cancel(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
    this.finish(130);
  }
}

/** The options given on the command line, as the shell's starting options. */
function initialState(state: ShellState, values: ReportFlagValues): string[] {
  const fixed: string[] = [];
  const byFlag = new Map(Object.keys(PPROF_VARS).map((n) => [flagOf(n), n]));
  for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (k === 'granularity') state.setGroup('granularity', String(v));
    else if (k === 'cum') state.setGroup('sort', 'cum');
    else if (k === 'flat') state.setGroup('sort', 'flat');
    else if (byFlag.has(k) && state.isSupported(byFlag.get(k)!)) state.set(byFlag.get(k)!, typeof v === 'boolean' ? String(v) : String(v));
    else if (Array.isArray(v)) for (const x of v) fixed.push(`--${k}=${String(x)}`);
    else if (typeof v === 'boolean') {
      if (v) fixed.push(`--${k}`);
    } else fixed.push(`--${k}=${String(v)}`);
  }
  return fixed;
}

export const shellCommand: CommandSpec = {
  usage: `usage: leakscope shell [flags] <profile|url>...
       leakscope [flags] <profile|url>...
go tool pprof's interactive mode: the sources are loaded once (merged when several), then commands
are read from the terminal (line editing, history, Tab completion; Ctrl-C stops a running command or
clears the line, Ctrl-D quits) or line by line from stdin when it is not a terminal:
  top [n] [-cum] [focus_re]... [-ignore_re]...   (top10 -cum also; n defaults to 10)
  list RE, peek RE, traces, tree, dot, svg, web   (web serves leakscope web's page on this profile)
  name=value sets an option for the session (focus=RE, sample_index=alloc_space, granularity=lines,
  nodecount=N, sort=cum, unit=MB, trim=false…); a sample type's name alone selects it; ":" clears
  focus/ignore/hide; ">FILE" after a command writes its output to FILE; o/options shows the options;
  help [cmd|option]; q/quit/exit.
Each command prints exactly what the matching leakscope command prints with the same options.
The flags below set the starting options (and --base/--diff-base, --seconds… for the loading).
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'shell');
    if (positionals.length === 0) throw new LeakscopeError('E_USAGE', 'shell: no profile given (leakscope shell <profile|url>...)');
    const sources = [...positionals, ...(values.base ?? []), ...(values['diff-base'] ?? [])];
    if (sources.includes('-')) throw new LeakscopeError('E_USAGE', 'shell: reads its commands from stdin, so a profile cannot come from stdin ("-"); save it to a file');
    const fetch = fetchOptionsFrom(values);
    const loaded = new Map<string, Profile>();
    for (const s of sources) if (!loaded.has(s)) loaded.set(s, await loadProfile(s, fetch));
    // the whole input as the commands see it: checks it once (incompatible merges, a bad base)
    usePreloadedProfiles(loaded);
    let combined: Profile;
    try {
      combined = await loadReportInput(positionals, values, 'shell');
    } finally {
      usePreloadedProfiles(undefined);
    }
    const sampleTypes = combined.sampleTypes.map((t) => t.type);
    const state = new ShellState(
      reportFlagSpec as unknown as FlagSpec,
      (v) => sampleTypes[sampleIndex(combined, v)]!,
      (re, what) => void compileGoRegex(re, what),
      sampleTypes,
      sampleTypes[sampleIndex(combined)] ?? '',
    );
    const fixed = initialState(state, values);
    // "--" keeps a regex or a source that starts with "-" positional
    const withSources = (a: { argv: string[]; params: string[] }) => [...a.argv, ...fixed, '--', ...a.params, ...positionals];

    greet(combined, io);

    const stdin = process.stdin;
    // line editing and the prompt when a person is at a terminal (stdin and stdout both terminals)
    const tty = Boolean(stdin.isTTY && process.stdout.isTTY);
    const data: ShellWorkerData = { profiles: loaded, isTTY: io.isTTY };
    const runner = new Runner(data);
    let web: Runner | undefined;
    const names = [...Object.keys(SHELL_COMMANDS), 'o', 'options', 'help', 'quit', 'exit', ...Object.keys(PPROF_VARS).filter((n) => state.isSupported(n)).map((n) => `${n}=`), ...Object.keys(PPROF_GROUPS).map((g) => `${g}=`)];
    const fnNames = [...new Set(combined.functions.map((f) => f.name))];
    const completer = (line: string): [string[], string] => {
      const tokens = line.split(/\s+/);
      const last = tokens[tokens.length - 1] ?? '';
      if (tokens.length <= 1) return [names.filter((n) => n.startsWith(last)), last];
      const neg = last.startsWith('-') ? '-' : '';
      const want = last.slice(neg.length);
      const hits = fnNames.filter((f) => f.includes(want)).slice(0, 200);
      return [hits.length === 1 ? [neg + hits[0]!] : hits.map((h) => neg + h), last];
    };
    const rl: Interface = createInterface(
      tty ? { input: stdin, output: process.stdout, terminal: true, prompt: PROMPT, historySize: 1000, removeHistoryDuplicates: true, completer } : { input: stdin, terminal: false },
    );

    return await new Promise<number>((resolveShell) => {
      const queue: string[] = [];
      let running = false;
      let eof = false;
      let done = false;
      const finish = async (code: number) => {
        if (done) return;
        done = true;
        process.off('SIGINT', onSignal);
        rl.close();
        await runner.cancel();
        if (web) await web.cancel();
        resolveShell(code);
      };
      const prompt = () => {
        if (tty && !done) rl.prompt();
      };
      const next = async () => {
        if (running || done) return;
        const line = queue.shift();
        if (line === undefined) {
          if (eof) await finish(0);
          return;
        }
        running = true;
        let quit = false;
        try {
          quit = await execute(line);
        } finally {
          running = false;
        }
        if (quit) return finish(0);
        prompt();
        void next();
      };
      const execute = async (line: string): Promise<boolean> => {
        let action;
        try {
          action = state.parse(line);
        } catch (e) {
          if (e instanceof LeakscopeError) {
            io.stderr(`${e.message}\n`);
            return false;
          }
          throw e;
        }
        switch (action.kind) {
          case 'none':
          case 'set':
            return false;
          case 'quit':
            return true;
          // as in pprof, what is about the shell (options, help) goes to stderr; reports to stdout
          case 'options':
            io.stderr(state.optionsText());
            return false;
          case 'help':
            try {
              io.stderr(state.help(action.topic));
            } catch (e) {
              io.stderr(`${(e as Error).message}\n`);
            }
            return false;
          case 'run':
            break;
        }
        const argv = withSources(action);
        if (action.command === 'web') {
          if (web) await web.cancel();
          const w = new Runner(data);
          web = w;
          if (tty) argv.push('--open');
          await new Promise<void>((resolve) => {
            void w
              .run(
                argv,
                (s) => {
                  io.stdout(s);
                  resolve();
                },
                io.stderr,
              )
              .then(() => resolve());
          });
          return false;
        }
        const chunks: string[] = [];
        const out = action.output === undefined ? io.stdout : (s: string) => void chunks.push(s);
        const code = await runner.run(argv, out, io.stderr);
        if (code === 130) io.stderr('interrupted\n');
        else if (action.output !== undefined && code === 0) {
          try {
            writeFileSync(action.output, chunks.join(''));
            io.stderr(`Generating report in ${action.output}\n`);
          } catch (e) {
            io.stderr(`cannot write ${action.output}: ${(e as Error).message}\n`);
          }
        }
        return false;
      };
      // Ctrl-C: stops the running command; at the prompt, clears the line (a terminal) or leaves
      // (commands from a pipe)
      const onInterrupt = () => {
        if (running && runner.busy) {
          void runner.cancel();
          return;
        }
        if (running) return;
        if (tty) {
          const r = rl as unknown as { line: string; cursor: number };
          r.line = '';
          r.cursor = 0;
          process.stdout.write('^C\n');
          prompt();
        } else void finish(130);
      };
      const onSignal = () => onInterrupt();
      rl.on('SIGINT', onInterrupt);
      process.on('SIGINT', onSignal);
      rl.on('line', (line) => {
        queue.push(line);
        void next();
      });
      rl.on('close', () => {
        eof = true;
        if (tty && !done) process.stdout.write('\n');
        void next();
      });
      prompt();
    });
  },
};

/** pprof's greeting, on stderr: the profile's labels, then how to get help. */
function greet(p: Profile, io: CliIO): void {
  try {
    const prep = prepareReport(p, {});
    const lines = profileLabels(p, prep, (v) => scaledLabel(v, prep.sampleUnit, 'auto'));
    if (prep.total === 0 && p.sampleTypes.length > 1) lines.push('No samples were found with the default sample value type.', 'Try "sample_index" command to analyze different sample values.');
    io.stderr(lines.join('\n') + '\n');
  } catch {
    /* the commands report what is wrong */
  }
  io.stderr('Entering interactive mode (type "help" for commands, "o" for options)\n');
}
