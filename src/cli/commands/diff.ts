import type { CommandSpec } from '../io.js';
import { LeakscopeError } from '../../core/errors.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { renderTopJson, renderTopText, topReport } from '../../report/top.js';

export const diffCommand: CommandSpec = {
  usage: `usage: leakscope diff [flags] <base> <new>
       leakscope diff --diff-base <base> [flags] <new>...
       leakscope diff --base <base> [flags] <new>...
With two positional profiles the first is the base and pprof's -diff_base semantics apply:
percentages are relative to the base's total, entries may be negative. --base subtracts without
that (for cumulative profiles of one process, such as allocs, mutex, block).
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'diff');
    let sources = positionals;
    if (!values.base?.length && !values['diff-base']?.length) {
      if (positionals.length !== 2) {
        throw new LeakscopeError('E_USAGE', 'diff: give two profiles (base, then new) or --diff-base/--base BASE with the new profile');
      }
      values['diff-base'] = [positionals[0]!];
      sources = [positionals[1]!];
    }
    const opts = reportOptionsFrom(values);
    const prep = prepareReport(await loadReportInput(sources, values, 'diff'), opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const report = topReport(prep, opts, 0);
    io.stdout(values.json ? renderTopJson(report) : renderTopText(report));
    return 0;
  },
};
