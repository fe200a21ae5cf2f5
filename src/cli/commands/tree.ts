import type { CommandSpec } from '../io.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { treeReport } from '../../report/tree.js';

export const treeCommand: CommandSpec = {
  usage: `usage: leakscope tree [flags] <profile|url>...
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'tree');
    const opts = reportOptionsFrom(values);
    const prep = prepareReport(await loadReportInput(positionals, values, 'tree'), opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const r = treeReport(prep, opts);
    io.stdout(values.json ? JSON.stringify({ sampleType: prep.sampleType, unit: prep.sampleUnit, total: prep.total, nodes: r.nodes }, null, 2) + '\n' : r.text);
    return 0;
  },
};
