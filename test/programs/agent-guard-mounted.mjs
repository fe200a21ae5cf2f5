// The agent's handler mounted in an application's own server, with the application's host name
// allowed: node agent-guard-mounted.mjs <agent module URL> <allowed host>…
// Prints `APP_PORT=<n>` once listening; every other path answers 'app'.
import { createServer } from 'node:http';

const { startAgent } = await import(process.argv[2]);
const agent = await startAgent({ listen: false, allowedHosts: process.argv.slice(3) });
if (!agent.active) throw new Error(agent.error);
const server = createServer((req, res) => {
  if (req.url?.startsWith('/debug/pprof')) agent.handler(req, res);
  else res.end('app\n');
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`APP_PORT=${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
