import type { CommandSpec } from '../io.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { renderTagsJson, tagsReport } from '../../report/tags.js';

export const tagsCommand: CommandSpec = {
  usage: `usage: leakscope tags [flags] <profile|url>...
Label keys and values with their share of the chosen sample type (go tool pprof -tags). The
filters apply first; --tagshow / --taghide choose the keys; --unit scales values and byte or
time labels.
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'tags');
    const opts = reportOptionsFrom(values);
    const prep = prepareReport(await loadReportInput(positionals, values, 'tags'), opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const r = tagsReport(prep, opts);
    io.stdout(values.json ? renderTagsJson(r) : r.text);
    return 0;
  },
};
