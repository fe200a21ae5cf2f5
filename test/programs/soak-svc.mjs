// A stand-in service for test/soak-errors.test.ts. It starts a grandchild (a sleeping node
// process) and writes both pids, one per line, to $PIDFILE; then, by $MODE:
//   exit-now     exits with code 3 before listening
//   never-listen stays up without listening
//   crash-after  listens on $PORT, answers, and exits with code 7 after $CRASH_MS
//   serve        listens on $PORT and answers until stopped
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const kid = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
appendFileSync(process.env.PIDFILE, `${process.pid}\n${kid.pid}\n`);
const mode = process.env.MODE;
if (mode === 'exit-now') {
  process.stderr.write('soak-svc: config file missing\n');
  process.exit(3);
}
if (mode === 'never-listen') setInterval(() => {}, 1000);
else {
  createServer((req, res) => res.end('ok\n')).listen(Number(process.env.PORT), '127.0.0.1');
  if (mode === 'crash-after') {
    setTimeout(() => {
      process.stderr.write('soak-svc: out of file descriptors\n');
      process.exit(7);
    }, Number(process.env.CRASH_MS ?? 1500));
  }
}
