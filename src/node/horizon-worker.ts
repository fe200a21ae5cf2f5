/**
 * The worker thread of loadIdHorizons (snapshot-source.ts): reads the id horizons of the given
 * snapshots one after the other and posts each back, with progress on the way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadIdHorizon, type IdsTask } from './snapshot-source.js';

const task = workerData as IdsTask | undefined;
if (task && Array.isArray(task.leakscopeSnapshotIds) && parentPort) {
  const port = parentPort;
  void (async () => {
    const sources = task.leakscopeSnapshotIds;
    for (let index = 0; index < sources.length; index++) {
      try {
        const horizon = await loadIdHorizon(sources[index]!, { token: task.token, timeoutMs: task.timeoutMs, onProgress: (p) => port.postMessage({ progress: p }) });
        port.postMessage({ ok: true, index, horizon }, [horizon.nativeIds.buffer as ArrayBuffer]);
      } catch (e) {
        const err = e as { code?: string; message?: string };
        port.postMessage({ ok: false, code: err.code ?? 'E_IO', message: err.message ?? String(e) });
        return;
      }
    }
  })();
}
