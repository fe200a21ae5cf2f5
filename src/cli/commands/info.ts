import type { CommandSpec } from '../io.js';
import { parseCommandArgs, intOption, byteSizeOption } from '../args.js';
import { LeakscopeError } from '../../core/errors.js';
import { loadProfile } from '../../node/source.js';

const options = {
  json: { type: 'boolean' },
  seconds: { type: 'string' },
  token: { type: 'string' },
  'max-bytes': { type: 'string' },
} as const;

export const infoCommand: CommandSpec = {
  usage: `usage: leakscope info [--json] <profile|url>...
  --json        machine-readable output
  --seconds N   for URLs: profile duration (adds seconds=N)
  --token T     bearer token for a leakscope agent (or LEAKSCOPE_TOKEN)
  --max-bytes N most bytes read from a URL or inflated from gzip (default 512MiB)`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<{ json?: boolean; seconds?: string; token?: string; 'max-bytes'?: string }>(argv, options, 'info');
    if (positionals.length === 0) throw new LeakscopeError('E_USAGE', 'info: no profile given');
    const seconds = intOption(values.seconds, 'seconds', 1, 86400);
    const maxBytes = byteSizeOption(values['max-bytes'], 'max-bytes');
    const out: unknown[] = [];
    for (const src of positionals) {
      const p = await loadProfile(src, { seconds, token: values.token ?? process.env.LEAKSCOPE_TOKEN, maxBytes });
      const totals = p.sampleTypes.map((_, t) => {
        let sum = 0;
        for (let s = 0; s < p.samples.count; s++) sum += p.samples.values[s * p.sampleTypes.length + t]!;
        return sum;
      });
      const info = {
        source: src,
        sampleTypes: p.sampleTypes.map((st, i) => ({ type: st.type, unit: st.unit, total: totals[i] })),
        defaultSampleType: p.defaultSampleType || (p.sampleTypes.at(-1)?.type ?? ''),
        periodType: p.periodType ?? null,
        period: p.period,
        timeNanos: p.timeNanos.toString(),
        durationNanos: p.durationNanos.toString(),
        samples: p.samples.count,
        locations: p.locations.length,
        functions: p.functions.length,
        mappings: p.mappings.length,
        comments: p.comments,
        dropFrames: p.dropFrames,
        keepFrames: p.keepFrames,
      };
      out.push(info);
      if (!values.json) {
        const lines = [`${src}:`];
        lines.push(`  sample types: ${info.sampleTypes.map((s) => `${s.type}/${s.unit}${s.type === info.defaultSampleType ? ' [default]' : ''}`).join(' ')}`);
        for (const s of info.sampleTypes) lines.push(`  total ${s.type}: ${s.total}`);
        if (p.periodType) lines.push(`  period: ${p.period} ${p.periodType.type}/${p.periodType.unit}`);
        if (p.timeNanos !== 0n) lines.push(`  time: ${new Date(Number(p.timeNanos / 1000000n)).toISOString()}`);
        if (p.durationNanos !== 0n) lines.push(`  duration: ${(Number(p.durationNanos) / 1e9).toFixed(3)}s`);
        lines.push(`  samples: ${info.samples}  locations: ${info.locations}  functions: ${info.functions}  mappings: ${info.mappings}`);
        for (const c of p.comments) lines.push(`  comment: ${c}`);
        if (p.dropFrames) lines.push(`  drop_frames: ${p.dropFrames}`);
        if (p.keepFrames) lines.push(`  keep_frames: ${p.keepFrames}`);
        io.stdout(lines.join('\n') + '\n');
      }
    }
    if (values.json) io.stdout(JSON.stringify(out.length === 1 ? out[0] : out, null, 2) + '\n');
    return 0;
  },
};
