/**
 * Flags shared by the pprof-style report commands (top, list, peek, traces, tree, diff) and the
 * loading of their sources: several sources are merged; --base/--diff-base subtract a base.
 */
import { mergeProfiles, subtractBase } from '../core/algebra.js';
import { LeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { loadProfile, type FetchOptions } from '../node/source.js';
import { checkGranularity, type ReportOptions } from '../report/prepare.js';
import { byteSizeOption, floatOption, intOption } from './args.js';

export const reportFlagSpec = {
  'sample-index': { type: 'string' },
  granularity: { type: 'string' },
  focus: { type: 'string' },
  ignore: { type: 'string' },
  hide: { type: 'string' },
  show: { type: 'string' },
  'show-from': { type: 'string' },
  nodecount: { type: 'string' },
  'node-fraction': { type: 'string' },
  'edge-fraction': { type: 'string' },
  cum: { type: 'boolean' },
  flat: { type: 'boolean' },
  unit: { type: 'string' },
  json: { type: 'boolean' },
  seconds: { type: 'string' },
  timeout: { type: 'string' },
  token: { type: 'string' },
  'max-bytes': { type: 'string' },
  base: { type: 'string', multiple: true },
  'diff-base': { type: 'string', multiple: true },
  normalize: { type: 'boolean' },
  noinlines: { type: 'boolean' },
  'trim-path': { type: 'string' },
  'source-path': { type: 'string' },
  'relative-percentages': { type: 'boolean' },
  'call-tree': { type: 'boolean' },
  'all-frames': { type: 'boolean' },
  'divide-by': { type: 'string' },
  'compact-labels': { type: 'boolean' },
  mean: { type: 'boolean' },
  tagfocus: { type: 'string' },
  tagignore: { type: 'string' },
  tagshow: { type: 'string' },
  taghide: { type: 'string' },
  tagroot: { type: 'string' },
  tagleaf: { type: 'string' },
} as const;

export interface ReportFlagValues {
  'sample-index'?: string;
  granularity?: string;
  focus?: string;
  ignore?: string;
  hide?: string;
  show?: string;
  'show-from'?: string;
  nodecount?: string;
  'node-fraction'?: string;
  'edge-fraction'?: string;
  cum?: boolean;
  flat?: boolean;
  unit?: string;
  json?: boolean;
  seconds?: string;
  timeout?: string;
  token?: string;
  'max-bytes'?: string;
  base?: string[];
  'diff-base'?: string[];
  normalize?: boolean;
  noinlines?: boolean;
  'trim-path'?: string;
  'source-path'?: string;
  'relative-percentages'?: boolean;
  'call-tree'?: boolean;
  'all-frames'?: boolean;
  'divide-by'?: string;
  'compact-labels'?: boolean;
  mean?: boolean;
  tagfocus?: string;
  tagignore?: string;
  tagshow?: string;
  taghide?: string;
  tagroot?: string;
  tagleaf?: string;
}

export const reportFlagHelp = `  --sample-index X       sample type by name or 0-based index (pprof -sample_index; also -inuse_space, -alloc_objects…)
  --granularity G        functions (default) | filefunctions | files | lines | addresses (also -lines, -files…)
  --focus RE             keep samples with a frame matching RE (function or file name)
  --ignore RE            drop samples with a frame matching RE
  --hide RE              drop frames matching RE, keep the rest of the sample
  --show RE              keep only frames matching RE
  --show-from RE         drop frames above the highest match of RE
  --nodecount N          at most N rows (0 = all)
  --node-fraction F      drop rows with |cum| below F × total (default 0.005; pprof -nodefraction)
  --edge-fraction F      tree: drop edges below F × total (default 0.001; pprof -edgefraction)
  --cum                  sort by cum instead of flat
  --unit U               output unit: minimum (default), auto, B, kB, MB, ns, ms, s…
  --base FILE            subtract FILE (cumulative profiles from one process; pprof -base)
  --diff-base FILE       compare against FILE; percentages relative to it (pprof -diff_base)
  --normalize            scale the source to the base's total before subtracting
  --noinlines            attribute inlined frames to their outermost caller
  --trim-path P          prefixes to trim from file names (colon-separated)
  --source-path P        where to find source files (list); also used to trim file names
  --relative-percentages percentages of what the filters keep, not of the whole profile
  --divide-by X          divide every printed value by X (pprof -divide_by)
  --compact-labels       top/tree: no profile header lines (File:, Type:, Time: …)
  --mean                 each value divided by its samples' count (pprof -mean; -mean_delay is
                         -mean -sample_index=delay)
  --tagfocus T           keep samples with a label matching T: key=RE, RE matching "key:value",
                         RE1,RE2 (all must match; with key= any), or a numeric range such as
                         bytes=1kb:, :64mb, 12kb:64mb, 32kb (pprof -tagfocus)
  --tagignore T          drop samples with a label matching T (same forms as --tagfocus)
  --tagshow RE           keep only labels whose key matches RE (pprof -tagshow)
  --taghide RE           drop labels whose key matches RE (pprof -taghide)
  --tagroot KEYS         add a frame per label key (comma-separated) at the root: its values
  --tagleaf KEYS         the same at the leaf (pprof -tagroot / -tagleaf)
  --all-frames           ignore the profile's drop_frames/keep_frames
  --call-tree            a location reached by different paths is a separate node (graph only,
                         as in pprof; the text reports ignore it as pprof does)
  --json                 machine-readable output
  --seconds N            for URLs: profile duration (adds seconds=N)
  --timeout S            for URLs: give up after S seconds (default 60; the whole answer)
  --max-bytes N          most bytes read from a URL or inflated from gzip (default 512MiB; 2GB,
                         1GiB…; or LEAKSCOPE_MAX_BYTES)
  --token T              bearer token for a leakscope agent (or LEAKSCOPE_TOKEN)`;

export function reportOptionsFrom(v: ReportFlagValues): ReportOptions {
  const o: ReportOptions = {};
  if (v['sample-index'] !== undefined) o.sampleIndex = v['sample-index'];
  if (v.granularity !== undefined) o.granularity = checkGranularity(v.granularity);
  if (v.focus !== undefined) o.focus = v.focus;
  if (v.ignore !== undefined) o.ignore = v.ignore;
  if (v.hide !== undefined) o.hide = v.hide;
  if (v.show !== undefined) o.show = v.show;
  if (v['show-from'] !== undefined) o.showFrom = v['show-from'];
  const nc = intOption(v.nodecount, 'nodecount', 0);
  if (nc !== undefined) o.nodeCount = nc;
  const nf = floatOption(v['node-fraction'], 'node-fraction', 0, 1);
  if (nf !== undefined) o.nodeFraction = nf;
  const ef = floatOption(v['edge-fraction'], 'edge-fraction', 0, 1);
  if (ef !== undefined) o.edgeFraction = ef;
  if (v.cum) o.cum = true;
  if (v.unit !== undefined) o.unit = v.unit;
  if (v.noinlines) o.noInlines = true;
  if (v['trim-path'] !== undefined) o.trimPath = v['trim-path'];
  if (v['source-path'] !== undefined) o.sourcePath = v['source-path'];
  if (v['relative-percentages']) o.relativePercentages = true;
  if (v['compact-labels']) o.compactLabels = true;
  if (v['all-frames']) o.allFrames = true;
  if (v['call-tree']) o.callTree = true;
  if (v.mean) o.mean = true;
  if (v.tagfocus !== undefined) o.tagFocus = v.tagfocus;
  if (v.tagignore !== undefined) o.tagIgnore = v.tagignore;
  if (v.tagshow !== undefined) o.tagShow = v.tagshow;
  if (v.taghide !== undefined) o.tagHide = v.taghide;
  if (v.tagroot !== undefined) o.tagRoot = v.tagroot;
  if (v.tagleaf !== undefined) o.tagLeaf = v.tagleaf;
  const div = floatOption(v['divide-by'], 'divide-by');
  if (div !== undefined) {
    if (div === 0) throw new LeakscopeError('E_USAGE', '--divide-by: zero divisor specified');
    o.divideBy = div;
  }
  return o;
}

export function fetchOptionsFrom(v: ReportFlagValues): FetchOptions {
  const o: FetchOptions = {};
  const seconds = intOption(v.seconds, 'seconds', 1, 86400);
  if (seconds !== undefined) o.seconds = seconds;
  const timeout = floatOption(v.timeout, 'timeout', 0.001, 86400);
  if (timeout !== undefined) o.timeoutMs = timeout * 1000;
  const token = v.token ?? process.env.LEAKSCOPE_TOKEN;
  if (token) o.token = token;
  const maxBytes = byteSizeOption(v['max-bytes'], 'max-bytes');
  if (maxBytes !== undefined) o.maxBytes = maxBytes;
  return o;
}

/** Loads and merges sources (pprof merges several sources into one profile). */
export async function loadMerged(sources: string[], fetch: FetchOptions): Promise<Profile> {
  const ps = await Promise.all(sources.map((s) => loadProfile(s, fetch)));
  return ps.length === 1 ? ps[0]! : mergeProfiles(ps);
}

/** Sources plus --base / --diff-base, as pprof's fetchProfiles combines them. */
export async function loadReportInput(positionals: string[], v: ReportFlagValues, command: string): Promise<Profile> {
  if (positionals.length === 0) throw new LeakscopeError('E_USAGE', `${command}: no profile given`);
  const base = v.base ?? [];
  const diffBase = v['diff-base'] ?? [];
  if (base.length > 0 && diffBase.length > 0) {
    throw new LeakscopeError('E_USAGE', `${command}: --base and --diff-base cannot be used together`);
  }
  if (v.normalize && base.length === 0 && diffBase.length === 0) {
    throw new LeakscopeError('E_USAGE', `${command}: --normalize needs a base profile (--base or --diff-base)`);
  }
  const fetch = fetchOptionsFrom(v);
  const [src, b] = await Promise.all([
    loadMerged(positionals, fetch),
    base.length + diffBase.length > 0 ? loadMerged([...base, ...diffBase], fetch) : Promise.resolve(undefined),
  ]);
  if (!b) return src;
  return subtractBase(src, b, { diff: diffBase.length > 0, normalize: Boolean(v.normalize) });
}
