import type { CommandSpec } from '../io.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { tracesReport } from '../../report/traces.js';
import { compactProfile } from '../../core/algebra.js';

export const tracesCommand: CommandSpec = {
  usage: `usage: leakscope traces [flags] <profile|url>...
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'traces');
    const opts = reportOptionsFrom(values);
    // go tool pprof merges its input, so identical stacks show as one trace
    const prep = prepareReport(compactProfile(await loadReportInput(positionals, values, 'traces')), opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const r = tracesReport(prep, opts);
    io.stdout(values.json ? JSON.stringify({ sampleType: prep.sampleType, unit: prep.sampleUnit, traces: r.traces }, null, 2) + '\n' : r.text);
    return 0;
  },
};
