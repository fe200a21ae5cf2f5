import { spawn } from 'node:child_process';
import type { CommandSpec } from '../io.js';
import { LeakscopeError } from '../../core/errors.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { callGraph, renderDot } from '../../report/callgraph.js';

const spec = { ...reportFlagSpec, format: { type: 'string' } } as const;

/** Pipes DOT text through graphviz's `dot -Tsvg`; a clear error when it is not installed. */
export function dotToSvg(dot: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('dot', ['-Tsvg'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new LeakscopeError('E_IO', "--format svg needs graphviz's dot on PATH (Debian: apt-get install graphviz); --format dot writes the DOT text")
          : new LeakscopeError('E_IO', `could not run dot: ${e.message}`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new LeakscopeError('E_IO', `dot failed (${signal ?? `exit ${code}`}): ${err.trim().split('\n')[0] ?? ''}`));
    });
    child.stdin.on('error', () => {
      /* reported by 'close' */
    });
    child.stdin.end(dot);
  });
}

export const graphCommand: CommandSpec = {
  usage: `usage: leakscope graph --format dot|svg [flags] <profile|url>...
The call graph as go tool pprof -dot / -svg draws it: at most --nodecount nodes (default 80) chosen by
pprof's entropy order, nodes below --node-fraction (0.005) and edges below --edge-fraction (0.001) of
the total dropped; flat and cum with percentages in the labels; edge weights; inline calls dashed,
paths through dropped nodes dotted. svg runs graphviz's dot (Debian package graphviz).
  --format F             dot (default) or svg
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues & { format?: string }>(argv, spec, 'graph');
    const format = values.format ?? 'dot';
    if (format !== 'dot' && format !== 'svg') throw new LeakscopeError('E_USAGE', `--format must be dot or svg, got "${format}"`);
    const opts = reportOptionsFrom(values);
    if (opts.callTree || opts.divideBy !== undefined || opts.mean) throw new LeakscopeError('E_USAGE', '--call-tree, --divide-by and --mean are not supported by graph (top, tree, peek, list and traces take --divide-by and --mean)');
    const profile = await loadReportInput(positionals, values, 'graph');
    const prep = prepareReport(profile, opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const dot = renderDot(callGraph(prep, opts));
    io.stdout(format === 'dot' ? dot : await dotToSvg(dot));
    return 0;
  },
};
