// A small Node service for the fleet tests, run with the agent (node --import dist/src/register.js).
// It drives itself, no load needed: every TICK_MS (default 50) ms it handles a "request".
//   LEAK=1        each request's session is kept forever in a global Map (createSession): ~3 MB/min
//   LEAK unset    the same work, nothing kept (the sessions map holds the last 100)
//   EXIT_AFTER=N  exits after N ms (the test starts it again on the same agent port: a restart)
const sessions = new Map();
let id = 0;

function createSession(n) {
  const s = { id: `sess-${n}`, user: `u${n % 1000}`, created: Date.now(), data: [] };
  for (let i = 0; i < 32; i++) s.data.push({ i, pad: 'x'.repeat(24) + n });
  sessions.set(s.id, s);
  return s;
}

function forgetOld(n) {
  if (process.env.LEAK === '1') return;
  sessions.delete(`sess-${n - 100}`);
}

function handleRequest() {
  const n = ++id;
  const s = createSession(n);
  const body = JSON.stringify({ session: s.id, items: s.data.length });
  forgetOld(n);
  return body.length;
}

setInterval(handleRequest, Number(process.env.TICK_MS ?? 50));
if (process.env.EXIT_AFTER) setTimeout(() => process.exit(0), Number(process.env.EXIT_AFTER));
process.on('SIGTERM', () => process.exit(0));
