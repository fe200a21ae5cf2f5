/**
 * `leakscope watch --http ADDR`: the heap-over-time page of the run directory being written,
 * served by the same server and routes as `leakscope web <run-dir>`; the page polls, so new
 * samples appear without a reload. The URL goes to stderr (stdout carries the report).
 */
import type { Sensitivity } from '../core/leak/verdict.js';
import type { CliIO } from './io.js';
import { RunDirGc, withGc } from './web-gc.js';
import { RunDirView } from './web-rundir.js';
import { startUiServer, type UiServer } from './web-server.js';

export async function startLiveView(dir: string, o: { http: string; token: string | undefined; sensitivity: Sensitivity; minSamples: number | undefined }, io: CliIO): Promise<UiServer> {
  const view = new RunDirView(dir, io, { sensitivity: o.sensitivity, ...(o.minSamples !== undefined ? { minSamples: o.minSamples } : {}) });
  const server = await startUiServer({ addr: o.http, token: o.token, mode: 'timeline', route: withGc(new RunDirGc(view.dir, io, true).route, view.route), io, name: 'watch' });
  // the watch loop keeps the process alive; the page must not once the run is over
  server.server.unref();
  io.stderr(`leakscope watch: live view at ${server.url}\n`);
  return server;
}
