// A node:cluster service: the primary forks 2 workers that share one HTTP port and answer with their
// pid. Run with --import leakscope/register on every process (workers inherit the flag).
// Prints `CLUSTER primary=<pid> workers=<pid>,<pid> port=<n>` once both workers listen.
import cluster from 'node:cluster';
import { createServer } from 'node:http';

if (cluster.isPrimary) {
  const pids = [];
  let port = 0;
  for (let i = 0; i < 2; i++) {
    const w = cluster.fork();
    w.on('listening', (addr) => {
      pids.push(w.process.pid);
      port = addr.port;
      if (pids.length === 2) process.stdout.write(`CLUSTER primary=${process.pid} workers=${pids.join(',')} port=${port}\n`);
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
} else {
  const kept = [];
  createServer((req, res) => {
    kept.push({ at: Date.now(), url: req.url });
    res.end(`worker ${cluster.worker.id} pid ${process.pid}\n`);
  }).listen(0, '127.0.0.1');
}
