import type { CommandSpec } from '../io.js';
import { LeakscopeError } from '../../core/errors.js';
import { compileGoRegex } from '../../core/regex.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { listReport, type SourceReader } from '../../report/list.js';
import { pprofSourceReader } from '../../node/source-files.js';

/**
 * The source reader `list` uses: pprof's rules (see node/source-files.ts): -trim_path and the
 * -source_path heuristic, then each -source_path directory (default: the current one) and its parents.
 */
export function sourceReader(sourcePath: string | undefined, trimPath?: string): SourceReader {
  return pprofSourceReader(sourcePath, trimPath);
}

export const listCommand: CommandSpec = {
  usage: `usage: leakscope list <regex> [flags] <profile|url>...
Source files are found as go tool pprof finds them: an absolute name as is; a relative one under each
--source-path directory (default: the current directory) and its parents. When --trim-path is not
given, a recorded name containing /<basename of a source-path dir>/ is cut after it
(example.com/svc/main.go with --source-path ~/src/svc finds ~/src/svc/main.go).
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'list');
    const [re, ...sources] = positionals;
    if (re === undefined) throw new LeakscopeError('E_USAGE', 'list: give a regex and a profile: leakscope list <regex> <profile>');
    const symbol = compileGoRegex(re, 'list');
    const opts = reportOptionsFrom(values);
    const prep = prepareReport(await loadReportInput(sources, values, 'list'), opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const r = listReport(prep, opts, symbol, sourceReader(values['source-path'], values['trim-path']));
    io.stdout(values.json ? JSON.stringify({ sampleType: prep.sampleType, unit: prep.sampleUnit, total: prep.total, functions: r.functions }, null, 2) + '\n' : r.text);
    return 0;
  },
};
