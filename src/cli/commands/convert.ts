import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CliIO, CommandSpec } from '../io.js';
import { parseCommandArgs, intOption, byteSizeOption } from '../args.js';
import { LeakscopeError } from '../../core/errors.js';
import type { Profile } from '../../core/profile.js';
import { sampleIndex } from '../../core/select.js';
import { mergeProfiles } from '../../core/algebra.js';
import { collapsedLines, decodeCollapsed, looksLikeCollapsed } from '../../formats/collapsed.js';
import { encodeSpeedscope } from '../../formats/speedscope.js';
import { encodeProfile } from '../../formats/pprof.js';
import { maybeGunzip, parseProfileBytes, readSourceBytes } from '../../node/source.js';

const options = {
  to: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'sample-index': { type: 'string' },
  seconds: { type: 'string' },
  token: { type: 'string' },
  'max-bytes': { type: 'string' },
} as const;

interface Values {
  to?: string;
  output?: string;
  'sample-index'?: string;
  seconds?: string;
  token?: string;
  'max-bytes'?: string;
}

const FORMATS = ['collapsed', 'speedscope', 'pprof'] as const;
type Format = (typeof FORMATS)[number];

/** A port with a byte writer is used when present; the process port lacks one today. */
type ByteIO = CliIO & { stdoutBytes?: (b: Uint8Array) => void };

/** Reads a pprof profile (gzip'd or not) or collapsed stacks text. */
export async function loadAnyProfile(source: string, opts: { seconds?: number; token?: string; maxBytes?: number }): Promise<Profile> {
  const bytes = await readSourceBytes(source, opts);
  try {
    return parseProfileBytes(bytes, source, opts.maxBytes);
  } catch (e) {
    if (!(e instanceof LeakscopeError) || e.code === 'E_TOO_LARGE') throw e;
    const raw = maybeGunzip(bytes, source, opts.maxBytes);
    const text = new TextDecoder('utf-8', { fatal: false }).decode(raw.subarray(0, Math.min(raw.length, 64 * 1024)));
    if (!looksLikeCollapsed(text)) throw e;
    try {
      return decodeCollapsed(new TextDecoder('utf-8').decode(raw));
    } catch (e2) {
      if (e2 instanceof LeakscopeError) throw new LeakscopeError(e2.code, `${source}: ${e2.message}`);
      throw e2;
    }
  }
}


export const convertCommand: CommandSpec = {
  usage: `usage: leakscope convert --to collapsed|speedscope|pprof [-o FILE] [--sample-index X] <profile|url>...
  --to F             output format: collapsed (flamegraph.pl's folded stacks), speedscope (JSON
                     for speedscope.app) or pprof (gzip'd profile.proto)
  -o, --output FILE  write to FILE (default: stdout; pprof output is refused on a terminal)
  --sample-index X   sample type by index or name (collapsed: the values written; speedscope: the
                     profile opened first; pprof: written as default_sample_type)
  --seconds N        for URLs: profile duration (adds seconds=N)
  --token T          bearer token for a leakscope agent (or LEAKSCOPE_TOKEN)
  --max-bytes N      most bytes read from a URL or inflated from gzip (default 512MiB; or
                     LEAKSCOPE_MAX_BYTES)
Inputs may be pprof profiles (gzip'd or not) or collapsed stacks; several inputs are merged.`,
  async run(argv, io: ByteIO) {
    const { values, positionals } = parseCommandArgs<Values>(argv, options, 'convert');
    if (!values.to) throw new LeakscopeError('E_USAGE', `--to is required (one of ${FORMATS.join(', ')})`);
    if (!(FORMATS as readonly string[]).includes(values.to)) {
      throw new LeakscopeError('E_USAGE', `--to must be one of ${FORMATS.join(', ')}, got "${values.to}"`);
    }
    const to = values.to as Format;
    if (positionals.length === 0) throw new LeakscopeError('E_USAGE', 'no profile given');
    if (to === 'pprof' && values.output === undefined && io.isTTY) {
      throw new LeakscopeError('E_USAGE', 'refusing to write binary pprof data to a terminal; use -o FILE or redirect stdout');
    }
    const seconds = intOption(values.seconds, 'seconds', 1, 86400);
    const token = values.token ?? process.env.LEAKSCOPE_TOKEN;
    const maxBytes = byteSizeOption(values['max-bytes'], 'max-bytes');
    const profiles: Profile[] = [];
    for (const src of positionals) profiles.push(await loadAnyProfile(src, { seconds, token, maxBytes }));
    // Several inputs are merged as pprof merges them (same sample types required).
    const p = profiles.length === 1 ? profiles[0]! : mergeProfiles(profiles);
    const si = sampleIndex(p, values['sample-index']);

    let out: Uint8Array | string[];
    if (to === 'collapsed') out = collapsedLines(p, { sampleIndex: si });
    else if (to === 'speedscope') {
      const name = positionals.length === 1 ? basename(positionals[0]!) : `${positionals.length} profiles`;
      out = [encodeSpeedscope(p, { sampleIndex: si, name }).trimEnd()];
    } else {
      const q = values['sample-index'] !== undefined ? { ...p, defaultSampleType: p.sampleTypes[si]!.type } : p;
      out = gzipSync(encodeProfile(q));
    }

    let fh: FileHandle | undefined;
    if (values.output !== undefined) {
      try {
        fh = await open(values.output, 'w');
      } catch (e) {
        throw new LeakscopeError('E_IO', `${values.output}: cannot write (${(e as Error).message})`);
      }
    }
    const write = async (data: string | Uint8Array): Promise<void> => {
      if (fh) {
        try {
          if (typeof data === 'string') await fh.write(data);
          else await fh.write(data);
        } catch (e) {
          throw new LeakscopeError('E_IO', `${values.output}: cannot write (${(e as Error).message})`);
        }
      } else if (typeof data === 'string') io.stdout(data);
      else if (io.stdoutBytes) io.stdoutBytes(data);
      else await new Promise<void>((resolve, reject) => process.stdout.write(data, (err) => (err ? reject(err) : resolve())));
    };
    try {
      if (out instanceof Uint8Array) await write(out);
      else {
        // Text in chunks of about 1 MiB: a large profile's output can exceed V8's maximum string length.
        let chunk: string[] = [];
        let size = 0;
        for (const line of out) {
          chunk.push(line);
          size += line.length + 1;
          if (size >= 1 << 20) {
            await write(chunk.join('\n') + '\n');
            chunk = [];
            size = 0;
          }
        }
        if (chunk.length > 0) await write(chunk.join('\n') + '\n');
      }
    } finally {
      await fh?.close();
    }
    return 0;
  },
};
