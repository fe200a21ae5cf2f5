import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIO, CommandSpec } from '../io.js';
import { parseCommandArgs, intOption, floatOption, byteSizeOption } from '../args.js';
import { LeakscopeError } from '../../core/errors.js';
import { SnapshotReader, loadHeapSnapshot, loadIdHorizons, wantsReader, type SnapshotProgress } from '../../node/snapshot-source.js';
import { analyzeSnapshot, type HeapAnalysis } from '../../core/heap/analysis.js';
import { summarize } from '../../core/heap/summary.js';
import { diffSide, diffSnapshots } from '../../core/heap/diff.js';
import { findLeaks, type LeakReport } from '../../core/heap/leaks.js';
import { SourceMapResolver } from '../../agent/sourcemaps.js';
import { ordinalsById, findById, maxJsId, type IdHorizon } from '../../core/heap/ids.js';
import { PathLabeler, pathTo, retainerTree } from '../../core/heap/paths.js';
import { Locations, formatLocation } from '../../core/heap/locations.js';
import type { RawHeapSnapshot } from '../../formats/heapsnapshot.js';
import {
  formatBytes,
  renderDiffJson,
  renderDiffText,
  renderLeaksJson,
  renderLeaksText,
  renderSummaryJson,
  renderSummaryText,
} from '../../report/snapshot.js';

const options = {
  json: { type: 'boolean' },
  top: { type: 'string' },
  'min-retained': { type: 'string' },
  'min-count': { type: 'string' },
  'min-share': { type: 'string' },
  'no-source-maps': { type: 'boolean' },
  id: { type: 'string' },
  class: { type: 'string' },
  paths: { type: 'string' },
  progress: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  token: { type: 'string' },
  timeout: { type: 'string' },
  'max-bytes': { type: 'string' },
} as const;

export interface Values {
  json?: boolean;
  top?: string;
  'min-retained'?: string;
  'min-count'?: string;
  'min-share'?: string;
  'no-source-maps'?: boolean;
  id?: string;
  class?: string;
  paths?: string;
  progress?: boolean;
  quiet?: boolean;
  token?: string;
  timeout?: string;
  'max-bytes'?: string;
}

const USAGE = `usage: leakscope snapshot <subcommand> [flags] <snapshot|url|->...
  summary FILE             per class: count, shallow size, retained size
  diff A B                 per class: new, deleted, delta count and size (by object id)
  retainers FILE --id N    retainer path from the GC roots of object @N
  retainers FILE --class C the largest objects of class C and their retainer paths
  leaks S1 S2 S3 [S4…]     objects born between S1 and S2, alive in every later snapshot and
                           growing, folded into leaking roots and grouped by retainer path
flags:
  --json              machine-readable output
  --top N             rows / groups to show (default 30 for text, all for --json)
  --min-retained B    hide rows retaining fewer bytes
  --min-count N       leaks: hide groups with fewer leaking objects (default 2)
  --min-share F       leaks: hide groups below F of the largest group in count and size (default 0.01)
  --no-source-maps    leaks: report closure locations in the running JavaScript, not mapped to .ts
  --paths N           retainers --class: objects to show (default 5)
  --progress          progress on stderr (default: on for inputs over 256 MB)
  --quiet, -q         no progress
  --token T           bearer token for a leakscope agent URL (or LEAKSCOPE_TOKEN)
  --timeout S         for URLs: give up when the whole answer has not come in S seconds (default 600)
  --max-bytes N       most bytes read from a URL or inflated from gzip (default 8GiB; 512MiB, 20GB…;
                      or LEAKSCOPE_MAX_BYTES)`;

const BIG = 256 << 20;

function progressReporter(io: CliIO, v: Values): ((p: SnapshotProgress) => void) | undefined {
  if (v.quiet) return undefined;
  return (p) => {
    if (!v.progress && (p.total === undefined || p.total < BIG) && p.bytes < BIG) return;
    const pct = p.total ? ` (${((100 * p.bytes) / p.total).toFixed(0)}%)` : '';
    io.stderr(`${p.source}: read ${formatBytes(p.bytes)}${pct}\n`);
  };
}

/** --token, --timeout and --max-bytes, for every snapshot read */
function inputOptions(v: Values): { token?: string; timeoutMs?: number; maxBytes?: number } {
  const timeout = floatOption(v.timeout, 'timeout', 0.001, 86400);
  return { token: v.token ?? process.env.LEAKSCOPE_TOKEN, timeoutMs: timeout === undefined ? undefined : timeout * 1000, maxBytes: byteSizeOption(v['max-bytes'], 'max-bytes') };
}

export async function load(src: string, io: CliIO, v: Values, skipEdges = false, onNodesRead?: () => void, reader?: SnapshotReader): Promise<RawHeapSnapshot> {
  return loadHeapSnapshot(src, { onProgress: progressReporter(io, v), ...inputOptions(v), skipEdges, onNodesRead, reader });
}

export function analyze(raw: RawHeapSnapshot, src: string, io: CliIO, v: Values): HeapAnalysis {
  const verbose = !v.quiet && (v.progress || raw.edgeCount > 20_000_000);
  return analyzeSnapshot(raw, verbose ? (phase) => io.stderr(`${src}: ${phase}\n`) : undefined);
}

export const snapshotCommand: CommandSpec = {
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (!sub) throw new LeakscopeError('E_USAGE', 'snapshot: missing subcommand (summary, diff, retainers, leaks)');
    const { values: v, positionals } = parseCommandArgs<Values>(rest, options, `snapshot ${sub}`);
    const top = intOption(v.top, 'top', 1) ?? (v.json ? Number.MAX_SAFE_INTEGER : 30);
    const minRetained = intOption(v['min-retained'], 'min-retained', 0) ?? 0;
    switch (sub) {
      case 'summary': {
        if (positionals.length !== 1) throw new LeakscopeError('E_USAGE', 'snapshot summary: expected one snapshot');
        const src = positionals[0]!;
        const s = summarize(analyze(await load(src, io, v), src, io, v));
        s.rows = s.rows.filter((r) => r.retainedSize >= minRetained);
        io.stdout(v.json ? renderSummaryJson(s, top) : renderSummaryText(s, top));
        return 0;
      }
      case 'diff': {
        if (positionals.length !== 2) throw new LeakscopeError('E_USAGE', 'snapshot diff: expected two snapshots (older, newer)');
        // by id and class only: the edges are passed over
        const a = diffSide(await load(positionals[0]!, io, v, true));
        const b = diffSide(await load(positionals[1]!, io, v, true));
        const rows = diffSnapshots(a, b);
        io.stdout(v.json ? renderDiffJson(rows, top) : renderDiffText(rows, top));
        return 0;
      }
      case 'retainers':
        return retainers(positionals, v, io);
      case 'leaks': {
        if (positionals.length < 3) throw new LeakscopeError('E_USAGE', 'snapshot leaks: expected at least three snapshots S1 S2 S3 of one process, oldest first');
        const { report } = await leaksOf(positionals, v, io, minRetained);
        io.stdout(v.json ? renderLeaksJson(report, top) : renderLeaksText(report, top));
        return 0;
      }
      default:
        throw new LeakscopeError('E_USAGE', `snapshot: unknown subcommand "${sub}" (summary, diff, retainers, leaks)`);
    }
  },
};

/**
 * `snapshot leaks`' report of S1 … Sn (and the last snapshot's analysis), as the command prints it:
 * also what `leakscope web s1 s2 s3` shows.
 */
export async function leaksOf(positionals: string[], v: Values, io: CliIO, minRetained = 0): Promise<{ report: LeakReport; last: HeapAnalysis }> {
  const minCount = intOption(v['min-count'], 'min-count', 1) ?? 2;
  // The earlier snapshots are only needed for their id horizons. When a reader thread is
  // worth its start (wantsReader), it parses the last snapshot's edges and then reads the
  // horizons, while this thread parses the rest of the last snapshot and analyses it.
  // Otherwise the horizons are read here, once the last snapshot's `nodes` are in.
  const lastSrc = positionals[positionals.length - 1]!;
  const earlierSrc = positionals.slice(0, -1);
  // (a reader that cannot start leaves the work to this thread)
  const reader = wantsReader(lastSrc, earlierSrc) ? await SnapshotReader.start().catch(() => undefined) : undefined;
  try {
    let nodesRead!: () => void;
    const lastNodesRead = new Promise<void>((resolve) => (nodesRead = resolve));
    const lastP = load(lastSrc, io, v, false, nodesRead, reader);
    const lastSettled = lastP.then(
      () => undefined,
      () => undefined,
    );
    const earlierP: Promise<IdHorizon[]> = loadIdHorizons(earlierSrc, {
      onProgress: progressReporter(io, v),
      ...inputOptions(v),
      after: Promise.race([lastNodesRead, lastSettled]),
      reader,
    });
    earlierP.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
    const last = analyze(await lastP, lastSrc, io, v);
    const minShare = floatOption(v['min-share'], 'min-share', 0, 1) ?? 0.01;
    const earlier = await earlierP;
    checkSeriesOrder([...earlier.map((h) => h.maxJsId), maxJsId(last.graph.raw)], positionals);
    const report = findLeaks(last, earlier, { minCount, minShare, readSource });
    report.groups = report.groups.filter((g) => g.retainedSize >= minRetained);
    if (!v['no-source-maps']) report.groups = mapLocations(report.groups).map((g) => (g.owner ? { ...g, owner: mapLocations([g.owner])[0]! } : g));
    return { report, last };
  } finally {
    reader?.close();
  }
}

async function retainers(positionals: string[], v: Values, io: CliIO): Promise<number> {
  if (positionals.length !== 1) throw new LeakscopeError('E_USAGE', 'snapshot retainers: expected one snapshot');
  if ((v.id === undefined) === (v.class === undefined)) throw new LeakscopeError('E_USAGE', 'snapshot retainers: give exactly one of --id N or --class NAME');
  const src = positionals[0]!;
  const a = analyze(await load(src, io, v), src, io, v);
  const g = a.graph;
  let targets: number[];
  if (v.id !== undefined) {
    const id = intOption(v.id.replace(/^@/, ''), 'id', 0)!;
    const ord = findById(g.raw, ordinalsById(g.raw), id);
    if (ord < 0) throw new LeakscopeError('E_NO_DATA', `no object with id @${id} in ${src}`);
    targets = [ord];
  } else {
    const limit = intOption(v.paths, 'paths', 1) ?? 5;
    const want = v.class!;
    // keep the `limit` largest by retained size without sorting every match
    const found: number[] = [];
    let matches = 0;
    const labeler0 = new PathLabeler(g);
    const ret = a.dom.retained;
    for (let n = 0; n < g.nodeCount; n++) {
      if (g.className(n) !== want && labeler0.nodeLabel(n) !== want) continue;
      matches++;
      if (found.length === limit && ret[n]! <= ret[found[limit - 1]!]!) continue;
      let k = found.length < limit ? found.length : limit - 1;
      found[k] = n;
      while (k > 0 && ret[found[k - 1]!]! < ret[n]!) {
        found[k] = found[k - 1]!;
        found[--k] = n;
      }
    }
    if (matches === 0) throw new LeakscopeError('E_NO_DATA', `no objects of class "${want}" in ${src}`);
    targets = found;
  }
  const results = retainersOf(a, targets);
  if (v.json) {
    io.stdout(JSON.stringify({ objects: results }, null, 2) + '\n');
    return 0;
  }
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.className} @${r.id}: self ${formatBytes(r.selfSize)}, retained ${formatBytes(r.retainedSize)}${r.location ? `, at ${r.location}` : ''}`);
    if (r.steps.length === 0) lines.push('  (not reachable from the GC roots through retaining edges)');
    else {
      lines.push(`  ${r.retainerPath.join(' → ')}`);
      for (const s of r.steps) lines.push(`    --${s.edge} (${s.edgeType})--> ${s.className}${s.name && s.name !== s.className ? ` "${s.name}"` : ''} @${s.id}`);
    }
    lines.push('');
  }
  io.stdout(lines.join('\n'));
  return 0;
}

/** `snapshot retainers`' objects: each target's retainer path from the GC roots (the shortest
 * through retaining edges), with its sizes and location. */
export function retainersOf(a: HeapAnalysis, targets: number[]) {
  const g = a.graph;
  const tree = retainerTree(g, a.retaining);
  const labeler = new PathLabeler(g);
  const locs = new Locations(g);
  return targets.map((n) => {
    const steps = pathTo(tree, n);
    return {
      id: g.id(n),
      className: g.className(n),
      name: g.name(n),
      selfSize: g.selfSize(n),
      retainedSize: a.dom.retained[n]!,
      location: formatLocation(locs.describe(n)),
      retainerPath: labeler.render(steps),
      steps: steps.slice(1).map((s) => ({ edgeType: g.edgeTypeName(s.edge), edge: g.edgeName(s.edge), className: g.className(s.node), name: g.name(s.node).slice(0, 80), id: g.id(s.node) })),
    };
  });
}

/** Source files up to this size are read to name closures and find where a container is filled. */
const MAX_SOURCE_BYTES = 4 << 20;

/** the text of a local source file (a path or file:// URL), or null */
function readSource(file: string): string | null {
  const p = file.startsWith('file://') ? fileURLToPath(file) : file;
  if (!isAbsolute(p)) return null;
  try {
    if (statSync(p).size > MAX_SOURCE_BYTES) return null;
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Closure locations point into the JavaScript that ran; when that file ships a source map (tsc's
 * `sourceMap`), report the original file and line instead, as the agent does for its frames.
 */
function mapLocations<G extends { location: string | null }>(groups: G[]): G[] {
  const resolver = new SourceMapResolver();
  return groups.map((g) => {
    const m = g.location ? /^(.*):(\d+)$/.exec(g.location) : null;
    // a package's shipped file stays as it is: its maps (often of a minified one-line file) need
    // the column, which a line location does not keep
    if (!m || /[\\/]node_modules[\\/]/.test(m[1]!)) return g;
    const url = m[1]!;
    const line = Number(m[2]);
    const r = resolver.resolve({ functionName: '', scriptId: '0', url, lineNumber: line - 1, columnNumber: 0 });
    if (r.file === url.replace(/^file:\/\//, '') && r.line === line) return g;
    return { ...g, location: `${r.file}:${r.line}` };
  });
}

/**
 * Object ids only grow within one process, so the newest object id of each snapshot must be at
 * least the one before's: anything else means the files are out of order or from different
 * processes, and the leak sets would be meaningless.
 */
function checkSeriesOrder(maxIds: number[], sources: string[]): void {
  for (let k = 1; k < maxIds.length; k++) {
    if (maxIds[k]! < maxIds[k - 1]!) {
      throw new LeakscopeError(
        'E_USAGE',
        `snapshot leaks: ${sources[k]} has older objects than ${sources[k - 1]} (newest object id ${maxIds[k]} < ${maxIds[k - 1]}): give the snapshots of one process, oldest first`,
      );
    }
  }
}
