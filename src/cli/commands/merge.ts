import { writeFileSync, renameSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { CommandSpec } from '../io.js';
import { LeakscopeError } from '../../core/errors.js';
import { compactProfile } from '../../core/algebra.js';
import { encodeProfile } from '../../formats/pprof.js';
import { parseCommandArgs } from '../args.js';
import { fetchOptionsFrom, loadMerged, type ReportFlagValues } from '../report-flags.js';

const options = {
  output: { type: 'string', short: 'o' },
  seconds: { type: 'string' },
  timeout: { type: 'string' },
  token: { type: 'string' },
  'max-bytes': { type: 'string' },
} as const;

export const mergeCommand: CommandSpec = {
  usage: `usage: leakscope merge -o out.pb.gz <profile|url>...
Profiles must have the same sample types. Identical stacks are summed; the result opens in go tool pprof.
  -o, --output FILE   where to write (required)
  --seconds N         for URLs: profile duration
  --timeout S         for URLs: give up after S seconds
  --token T           bearer token for a leakscope agent (or LEAKSCOPE_TOKEN)
  --max-bytes N       most bytes read from a URL or inflated from gzip (default 512MiB)`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<ReportFlagValues & { output?: string }>(argv, options, 'merge');
    if (!values.output) throw new LeakscopeError('E_USAGE', 'merge: -o FILE is required');
    if (positionals.length === 0) throw new LeakscopeError('E_USAGE', 'merge: no profile given');
    const merged = compactProfile(await loadMerged(positionals, fetchOptionsFrom(values)));
    const bytes = gzipSync(encodeProfile(merged));
    const tmp = `${values.output}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, bytes);
      renameSync(tmp, values.output);
    } catch (e) {
      throw new LeakscopeError('E_IO', `merge: cannot write ${values.output}: ${(e as Error).message}`);
    }
    io.stderr(`merged ${positionals.length} profile(s), ${merged.samples.count} samples → ${values.output}\n`);
    return 0;
  },
};
