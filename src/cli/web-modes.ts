/**
 * `leakscope web` on a watch run directory (heap over time) or on heap snapshots: picks the mode
 * from the sources and serves it with the shared UI server (cli/web-server.ts). Profiles are left
 * to `web`'s own flame graph and top views (undefined is returned).
 */
import { LeakscopeError } from '../core/errors.js';
import type { CliIO } from './io.js';
import { parseDuration } from './commands/watch.js';
import { exportRunDir, exportSnapshots } from './web-export.js';
import { isMetricsSource, LiveGc, RunDirGc, withGc } from './web-gc.js';
import { isRunDir, RunDirView } from './web-rundir.js';
import { isFleetDir, readFleetMeta } from '../node/fleet-dir.js';
import { exportFleet, FleetView } from './web-fleet.js';
import { areSnapshots, SnapshotsView } from './web-snapshots.js';
import { startUiServer, untilSignal, type UiMode, type UiRoute } from './web-server.js';

export async function runWebMode(sources: string[], v: { http?: string; export?: string; token?: string; interval?: string; base?: string[]; 'diff-base'?: string[] }, io: CliIO): Promise<number | undefined> {
  let mode: UiMode;
  if (sources.length === 1 && isFleetDir(sources[0]!)) mode = 'fleet';
  else if (sources.length === 1 && isRunDir(sources[0]!)) mode = 'timeline';
  else if (areSnapshots(sources)) mode = 'snapshots';
  else if (sources.length === 1 && isMetricsSource(sources[0]!) && !v.base?.length && !v['diff-base']?.length) mode = 'gc';
  else return undefined;
  if (mode === 'gc' && v.export !== undefined) throw new LeakscopeError('E_USAGE', 'web: --export is not supported for a live service (its GC view updates as it runs); serve it, or export a watch run directory');
  if (mode === 'fleet' && v.export !== undefined) return exportFleet(sources[0]!, v.export, io);
  if (v.export !== undefined) return mode === 'timeline' ? exportRunDir(sources[0]!, v.export, io) : exportSnapshots(sources, v.export, io);
  const token = v.token ?? process.env.LEAKSCOPE_TOKEN;
  let route: UiRoute;
  let live: LiveGc | undefined;
  if (mode === 'fleet') {
    const view = new FleetView(sources[0]!, io);
    await readFleetMeta(view.dir); // an unreadable fleet.json fails here, before the URL is printed
    void view.data().catch(() => undefined); // analysed while the page loads
    route = view.route;
  } else if (mode === 'timeline') {
    const view = new RunDirView(sources[0]!, io);
    await view.fromIndex(); // an unreadable index fails here, before the URL is printed
    view.startSoon(1000); // the profiles are read and analysed after the page's first answer (its totals), or in a second
    route = withGc(new RunDirGc(view.dir, io, false).route, view.route);
  } else if (mode === 'gc') {
    const intervalMs = parseDuration(v.interval ?? '2s', 'interval');
    if (intervalMs < 100) throw new LeakscopeError('E_USAGE', '--interval must be at least 100ms');
    live = new LiveGc(sources[0]!, { intervalMs, token, io });
    // the first scrape before the URL: a service that does not answer is said at once (the page says it too)
    await live.start();
    route = live.route;
  } else route = (await SnapshotsView.open(sources, io)).route;
  const server = await startUiServer({ addr: v.http ?? '127.0.0.1:0', token, mode, route, io, name: 'web' });
  io.stdout(`${server.url}\n`);
  await untilSignal(server);
  live?.stop();
  return 0;
}
