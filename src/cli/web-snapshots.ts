/**
 * Heap snapshots in a browser: the routes behind `leakscope web s1.heapsnapshot …`. Three or more
 * snapshots give `snapshot leaks`' groups; one gives `snapshot summary`'s classes. Either way the
 * (last) snapshot's retainers can be walked one step at a time from any object, as DevTools'
 * Retainers pane does, starting from `snapshot retainers --id`'s path. The numbers come from the
 * functions the CLI prints (cli/commands/snapshot.ts, report/snapshot.ts), so they agree.
 */
import { basename } from 'node:path';
import { LeakscopeError } from '../core/errors.js';
import type { HeapAnalysis } from '../core/heap/analysis.js';
import { isRetaining } from '../core/heap/dominators.js';
import { findById, ordinalsById } from '../core/heap/ids.js';
import { summarize } from '../core/heap/summary.js';
import { renderLeaksJson, renderSummaryJson } from '../report/snapshot.js';
import { analyze, leaksOf, load, retainersOf, type Values } from './commands/snapshot.js';
import type { CliIO } from './io.js';
import type { RouteResult, UiRoute } from './web-server.js';

/** every source a heap snapshot (by name) */
export function areSnapshots(sources: string[]): boolean {
  return sources.length > 0 && sources.every((s) => /\.heapsnapshot(\.gz)?$/i.test(s));
}

const ALL = Number.MAX_SAFE_INTEGER;
/** direct retainers listed per expanded object */
const MAX_RETAINERS = 50;

export class SnapshotsView {
  private constructor(
    private readonly a: HeapAnalysis,
    private readonly body: string,
    private ordinals: Uint32Array | undefined = undefined,
  ) {}

  static async open(sources: string[], io: CliIO): Promise<SnapshotsView> {
    const v: Values = { quiet: true };
    const title = sources.map((s) => basename(s)).join(', ');
    if (sources.length === 1) {
      const a = analyze(await load(sources[0]!, io, v), sources[0]!, io, v);
      const summary = renderSummaryJson(summarize(a), ALL);
      return new SnapshotsView(a, `{"mode":"summary","title":${JSON.stringify(title)},"sources":${JSON.stringify(sources.map((s) => basename(s)))},"summary":${summary}}`);
    }
    if (sources.length === 2) throw new LeakscopeError('E_USAGE', 'web: give one heap snapshot (summary and retainers) or three or more of one process, oldest first (leaks)');
    const { report, last } = await leaksOf(sources, v, io);
    const leaks = renderLeaksJson(report, ALL);
    return new SnapshotsView(last, `{"mode":"leaks","title":${JSON.stringify(title)},"sources":${JSON.stringify(sources.map((s) => basename(s)))},"leaks":${leaks}}`);
  }

  private ordinal(id: number): number {
    const g = this.a.graph;
    this.ordinals ??= ordinalsById(g.raw);
    const n = findById(g.raw, this.ordinals, id);
    if (n < 0) throw new LeakscopeError('E_USAGE', `no object with id @${id} in the (last) snapshot`);
    return n;
  }

  /** one object: `retainers --id`'s answer, and its direct retainers (retaining edges first) */
  retainers(id: number): string {
    const n = this.ordinal(id);
    const g = this.a.graph;
    const [obj] = retainersOf(this.a, [n]);
    const first = g.firstRetainer;
    const out: { id: number; className: string; name: string; edge: string; edgeType: string; retaining: boolean; selfSize: number; retainedSize: number }[] = [];
    let total = 0;
    for (let k = first[n]!; k < first[n + 1]!; k++) {
      total++;
      const from = g.retainerNode[k]!;
      const e = g.retainerEdge[k]!;
      out.push({
        id: g.id(from),
        className: g.className(from),
        name: g.name(from).slice(0, 80),
        edge: g.edgeName(e),
        edgeType: g.edgeTypeName(e),
        retaining: isRetaining(this.a.retaining, e),
        selfSize: g.selfSize(from),
        retainedSize: this.a.dom.retained[from]!,
      });
    }
    out.sort((x, y) => Number(y.retaining) - Number(x.retaining) || y.retainedSize - x.retainedSize);
    return JSON.stringify({ object: obj, retainers: out.slice(0, MAX_RETAINERS), totalRetainers: total });
  }

  readonly route: UiRoute = (url: URL): RouteResult | undefined => {
    if (url.pathname === '/api/snapshots') return { body: this.body };
    if (url.pathname === '/api/retainers') {
      const raw = (url.searchParams.get('id') ?? '').replace(/^@/, '');
      if (!/^\d{1,15}$/.test(raw)) throw new LeakscopeError('E_USAGE', 'retainers: ?id=N (an object id)');
      return { body: this.retainers(Number(raw)) };
    }
    return undefined;
  };
}
