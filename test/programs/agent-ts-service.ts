// A TypeScript service for the agent's source-map test: compiled by tsc (sourceMap: true) to
// dist/test/programs/agent-ts-service.js, run with the agent, its frames must name this .ts file.
import { createServer } from 'node:http';

interface Session {
  id: number;
  payload: string[];
}

const sessions: Session[] = [];

// The planted leak: every /leak request keeps sessions forever.
function leakSessionsInTs(id: number): void {
  for (let k = 0; k < 512; k++) {
    const payload: string[] = [];
    for (let i = 0; i < 8; i++) payload.push(`session ${id}/${k}/${i}`);
    sessions.push({ id, payload });
  }
}

const server = createServer((req, res) => {
  if (req.url?.startsWith('/leak')) {
    for (let n = 0; n < 50; n++) leakSessionsInTs(n);
    res.end(`sessions ${sessions.length}\n`);
    return;
  }
  res.end('ok\n');
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`SERVICE_PORT=${typeof a === 'object' && a ? a.port : 0}\n`);
});
