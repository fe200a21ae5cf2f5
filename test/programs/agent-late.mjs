// Timers created before the agent starts: the census counts them by type only, walk=1 finds their
// callbacks. Usage: node test/programs/agent-late.mjs <path to dist/src/agent/index.js>
// Prints `AGENT_URL=<url>` on stdout once the agent listens.
import { pathToFileURL } from 'node:url';

for (let i = 0; i < 7; i++) setInterval(function earlyPoller() {}, 60_000);

const { startAgent } = await import(pathToFileURL(process.argv[2]).href);
const agent = await startAgent({ port: 0 });
for (let i = 0; i < 4; i++) setInterval(function latePoller() {}, 60_000);
process.stdout.write(`AGENT_URL=${agent.url ?? agent.error}\n`);
process.on('SIGTERM', () => process.exit(0));
