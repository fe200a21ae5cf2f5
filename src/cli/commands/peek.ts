import type { CommandSpec } from '../io.js';
import { LeakscopeError } from '../../core/errors.js';
import { compileGoRegex } from '../../core/regex.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { treeReport } from '../../report/tree.js';

export const peekCommand: CommandSpec = {
  usage: `usage: leakscope peek <regex> [flags] <profile|url>...
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'peek');
    const [re, ...sources] = positionals;
    if (re === undefined) throw new LeakscopeError('E_USAGE', 'peek: give a regex and a profile: leakscope peek <regex> <profile>');
    const symbol = compileGoRegex(re, 'peek');
    const opts = reportOptionsFrom(values);
    const prep = prepareReport(await loadReportInput(sources, values, 'peek'), opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const r = treeReport(prep, opts, symbol);
    io.stdout(values.json ? JSON.stringify({ sampleType: prep.sampleType, unit: prep.sampleUnit, total: prep.total, nodes: r.nodes }, null, 2) + '\n' : r.text);
    return 0;
  },
};
