import type { CommandSpec } from '../io.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { renderTopJson, renderTopText, topReport } from '../../report/top.js';

export const topCommand: CommandSpec = {
  usage: `usage: leakscope top [flags] <profile|url>...
Several sources are merged. Accepts go tool pprof's spellings too (-sample_index=inuse_space, -lines,
-diff_base FILE, -nodecount=N, -focus=RE, -inuse_space, -cum).
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'top');
    const opts = reportOptionsFrom(values);
    const profile = await loadReportInput(positionals, values, 'top');
    const prep = prepareReport(profile, opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const report = topReport(prep, opts, 0);
    io.stdout(values.json ? renderTopJson(report) : renderTopText(report));
    return 0;
  },
};
