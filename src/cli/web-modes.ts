/**
 * `leakscope web` on a watch run directory (heap over time) or on heap snapshots: picks the mode
 * from the sources and serves it with the shared UI server (cli/web-server.ts). Profiles are left
 * to `web`'s own flame graph and top views (undefined is returned).
 */
import { LeakscopeError } from '../core/errors.js';
import type { CliIO } from './io.js';
import { isRunDir, RunDirView } from './web-rundir.js';
import { areSnapshots, SnapshotsView } from './web-snapshots.js';
import { startUiServer, untilSignal, type UiMode, type UiRoute } from './web-server.js';

export async function runWebMode(sources: string[], v: { http?: string; export?: string; token?: string }, io: CliIO): Promise<number | undefined> {
  let mode: UiMode;
  if (sources.length === 1 && isRunDir(sources[0]!)) mode = 'timeline';
  else if (areSnapshots(sources)) mode = 'snapshots';
  else return undefined;
  if (v.export !== undefined) throw new LeakscopeError('E_USAGE', `web: --export is not supported for ${mode === 'timeline' ? 'a run directory' : 'heap snapshots'} yet; serve it instead (drop --export)`);
  const token = v.token ?? process.env.LEAKSCOPE_TOKEN;
  let route: UiRoute;
  if (mode === 'timeline') {
    const view = new RunDirView(sources[0]!, io);
    await view.fromIndex(); // an unreadable index fails here, before the URL is printed
    view.startSoon(1000); // the profiles are read and analysed after the page's first answer (its totals), or in a second
    route = view.route;
  } else route = (await SnapshotsView.open(sources, io)).route;
  const server = await startUiServer({ addr: v.http ?? '127.0.0.1:0', token, mode, route, io, name: 'web' });
  io.stdout(`${server.url}\n`);
  await untilSignal(server);
  return 0;
}
