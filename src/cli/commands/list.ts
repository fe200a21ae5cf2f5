import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { CommandSpec } from '../io.js';
import { LeakscopeError } from '../../core/errors.js';
import { compileGoRegex } from '../../core/regex.js';
import { parseCommandArgs } from '../args.js';
import { loadReportInput, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { prepareReport } from '../../report/prepare.js';
import { listReport } from '../../report/list.js';

/** Finds a profile's file name on disk: as is, then under each source path, trying shorter suffixes. */
export function sourceReader(sourcePath: string | undefined) {
  const dirs = (sourcePath ?? process.cwd()).split(':').filter(Boolean);
  const cache = new Map<string, string[] | undefined>();
  const readIf = (p: string): string[] | undefined => {
    try {
      if (existsSync(p) && statSync(p).isFile() && statSync(p).size < 64 * 1024 * 1024) return readFileSync(p, 'utf8').split('\n');
    } catch {
      /* unreadable: treated as not found */
    }
    return undefined;
  };
  return (file: string): string[] | undefined => {
    if (cache.has(file)) return cache.get(file);
    let found: string[] | undefined;
    if (isAbsolute(file)) found = readIf(file);
    const parts = file.split('/').filter(Boolean);
    for (const dir of dirs) {
      for (let i = 0; !found && i < parts.length; i++) found = readIf(join(dir, ...parts.slice(i)));
      if (found) break;
    }
    cache.set(file, found);
    return found;
  };
}

export const listCommand: CommandSpec = {
  usage: `usage: leakscope list <regex> [flags] <profile|url>...
Source files are looked up as recorded, then under --source-path (default: the current directory),
trying shorter suffixes of the recorded path (so example.com/svc/main.go finds ./main.go).
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues>(argv, reportFlagSpec, 'list');
    const [re, ...sources] = positionals;
    if (re === undefined) throw new LeakscopeError('E_USAGE', 'list: give a regex and a profile: leakscope list <regex> <profile>');
    const symbol = compileGoRegex(re, 'list');
    const opts = reportOptionsFrom(values);
    const prep = prepareReport(await loadReportInput(sources, values, 'list'), opts);
    for (const w of prep.warnings) io.stderr(`${w}\n`);
    const r = listReport(prep, opts, symbol, sourceReader(values['source-path']));
    io.stdout(values.json ? JSON.stringify({ sampleType: prep.sampleType, unit: prep.sampleUnit, total: prep.total, functions: r.functions }, null, 2) + '\n' : r.text);
    return 0;
  },
};
