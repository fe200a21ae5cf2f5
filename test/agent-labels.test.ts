/**
 * Labels on the async census (issue 13, item 4): a service labels its requests with
 * `leakscope/labels` (withLabels, labelsMiddleware); the agent's creation-stack window records the
 * labels current where each async resource was created and serves them as string labels, so
 * `leakscope tags`, `--tagfocus route=…` and `--tagroot route` work on the window. The real service
 * is an express application under `--import leakscope/register`, on Node 20, 22 and 24.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  MAX_LABEL_KEYS,
  MAX_LABEL_LENGTH,
  currentLabels,
  labelsMiddleware,
  mergeLabels,
  requestLabels,
  withLabels,
} from '../src/agent/labels.js';
import { CreationTracker } from '../src/agent/main-services.js';
import { NODE22, NODE24, killChildren, repoRoot, sleep, startService, type Service } from './helpers/agent-service.js';
import { SKIP_NO_GO, goPprof, hasGo } from './helpers/tools.js';

const cli = join(repoRoot, 'dist/src/cli/main.js');
const program = join(repoRoot, 'test/programs/agent-labels.mjs');
const dirs: string[] = [];
after(() => {
  killChildren();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('label sets', () => {
  test('merging: inner keys replace outer ones, undefined removes, values become strings, the result is frozen', () => {
    const outer = mergeLabels(undefined, { route: '/a', tenant: 'acme' });
    const inner = mergeLabels(outer, { route: '/b', shard: 3, tenant: undefined });
    assert.deepEqual(inner, { route: '/b', shard: '3' });
    assert.deepEqual(outer, { route: '/a', tenant: 'acme' }, 'the outer set is untouched');
    assert.ok(Object.isFrozen(inner));
    assert.deepEqual(mergeLabels(outer, { '': 'x', gone: null }), { route: '/a', tenant: 'acme' }, 'empty keys and null values add nothing');
  });

  test('merging is bounded: keys and values are cut, at most MAX_LABEL_KEYS keys (the outer ones first)', () => {
    const long = 'v'.repeat(MAX_LABEL_LENGTH + 50);
    const m = mergeLabels(undefined, { [long]: long });
    assert.deepEqual(Object.entries(m), [['v'.repeat(MAX_LABEL_LENGTH), 'v'.repeat(MAX_LABEL_LENGTH)]]);
    const many: Record<string, string> = {};
    for (let i = 0; i < MAX_LABEL_KEYS + 5; i++) many[`k${i}`] = String(i);
    const outer = mergeLabels(undefined, many);
    assert.equal(Object.keys(outer).length, MAX_LABEL_KEYS);
    const more = mergeLabels(outer, { k0: 'replaced', extra: 'dropped' });
    assert.equal(more.k0, 'replaced', 'an existing key can still be replaced when the set is full');
    assert.equal(more.extra, undefined);
    assert.equal(mergeLabels(outer, { k0: undefined, extra: 'fits' }).extra, 'fits', 'removing a key makes room');
  });

  test('outside a window, withLabels is a plain call: same result and arguments, no labels current', () => {
    assert.equal(
      withLabels({ route: '/x' }, (a: number, b: number) => {
        assert.equal(currentLabels(), undefined);
        return a + b;
      }, 2, 3),
      5,
    );
    assert.throws(() => withLabels({ route: '/x' }, undefined as unknown as () => void), TypeError);
    assert.throws(() => withLabels(null as unknown as Record<string, string>, () => {}), TypeError);
  });

  test('in a window: nesting merges, labels follow async work, and the window records them per resource', async () => {
    const tracker = new CreationTracker();
    tracker.start(false);
    const kept: NodeJS.Timeout[] = [];
    try {
      await withLabels({ route: '/api/orders', trace_id: 't1' }, async () => {
        assert.deepEqual(currentLabels(), { route: '/api/orders', trace_id: 't1' });
        await sleep(5);
        assert.deepEqual(currentLabels(), { route: '/api/orders', trace_id: 't1' }, 'after an await');
        withLabels({ tenant: 'acme', trace_id: 't2' }, () => {
          assert.deepEqual(currentLabels(), { route: '/api/orders', trace_id: 't2', tenant: 'acme' });
          kept.push(setInterval(function tenantTick() {}, 600_000));
        });
        assert.deepEqual(currentLabels(), { route: '/api/orders', trace_id: 't1' }, 'the inner set ends with its function');
        await new Promise<void>((resolve) =>
          setTimeout(() => {
            assert.deepEqual(currentLabels(), { route: '/api/orders', trace_id: 't1' }, 'in a timer callback');
            resolve();
          }, 5),
        );
        kept.push(setInterval(function orderTick() {}, 600_000), setInterval(function orderTick2() {}, 600_000));
      });
      kept.push(setInterval(function unlabelledTick() {}, 600_000));
      // a timer is destroyed after the microtasks its callback queued: let the last one go
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      const groups = tracker.stop();
      for (const k of kept) clearInterval(k);
      const byLabels = new Map<string, number>();
      for (const g of groups) {
        // the four intervals (the timers of sleep() and the one awaited are gone by now)
        if (g.type !== 'Timeout' || !g.stack.includes('agent-labels.test')) continue;
        const k = JSON.stringify(g.labels ?? null);
        byLabels.set(k, (byLabels.get(k) ?? 0) + g.count);
      }
      assert.deepEqual(
        Object.fromEntries(byLabels),
        {
          [JSON.stringify({ route: '/api/orders', trace_id: 't2', tenant: 'acme' })]: 1,
          [JSON.stringify({ route: '/api/orders', trace_id: 't1' })]: 2,
          null: 1,
        },
      );
    }
    assert.equal(
      withLabels({ route: '/after' }, () => currentLabels()),
      undefined,
      'after the window, labels are off again',
    );
  });

  test('the middleware labels the rest of the request; the default labels are the path and the traceparent trace id', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.deepEqual(requestLabels({ url: '/a/b?x=1', headers: { traceparent: tp } }), { route: '/a/b', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' });
    assert.deepEqual(requestLabels({ url: '/inner', originalUrl: '/mount/inner?q', headers: { traceparent: 'garbage' } }), { route: '/mount/inner' });
    const tracker = new CreationTracker();
    tracker.start(false);
    try {
      let seen: unknown;
      labelsMiddleware()({ url: '/a?b', headers: {} }, {}, () => (seen = currentLabels()));
      assert.deepEqual(seen, { route: '/a' });
      labelsMiddleware({ labels: (r) => ({ route: r.url!.replace(/\d+/g, ':id') }) })({ url: '/users/42' }, {}, () => (seen = currentLabels()));
      assert.deepEqual(seen, { route: '/users/:id' });
      let called = false;
      const mw = labelsMiddleware({
        labels: () => {
          throw new Error('boom');
        },
      });
      mw({ url: '/x' }, {}, () => (called = true));
      assert.ok(called, 'a labelling function that throws does not stop the request');
    } finally {
      tracker.stop();
    }
  });
});

const NODES: [string, string][] = [
  ['Node 20', process.execPath],
  ['Node 22', NODE22],
  ['Node 24', NODE24],
];

async function get(url: string): Promise<{ status: number; body: Buffer }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(90_000) });
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
}

function leakscope(args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `leakscope ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const LEAKS = 5;
const STEADY = 6;

/**
 * Opens a window on the service, waits until it records (the handler sees labels), sends the
 * requests and checks the window was still open after the last one; a window that closed too
 * early on a slow machine is taken again (at most 3 times).
 */
async function window(svc: Service, query: string): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    const taken = get(`${svc.agent}async?stacks=1&seconds=8${query}`);
    for (const until = Date.now() + 30_000; ; await sleep(50)) {
      const l = JSON.parse((await get(`${svc.base}/api/labels`)).body.toString()) as unknown;
      if (l !== null) {
        assert.deepEqual(l, { route: '/api/labels' });
        break;
      }
      assert.ok(Date.now() < until, 'the window did not start recording within 30 s');
    }
    for (let i = 0; i < LEAKS; i++) assert.equal((await get(`${svc.base}/api/leak`)).status, 200);
    for (let i = 0; i < STEADY; i++) assert.equal((await get(`${svc.base}/api/steady`)).status, 200);
    assert.equal((await get(`${svc.base}/api/nested`)).status, 200);
    const still = JSON.parse((await get(`${svc.base}/api/labels`)).body.toString()) as unknown;
    const r = await taken;
    assert.equal(r.status, 200, r.body.toString());
    if (still !== null) return r.body;
    assert.ok(attempt < 3, 'the window closed before the requests were done, three times');
  }
}

describe('a labelled express service', () => {
  for (const [label, node] of NODES) {
    test(`${label}: the window's profile carries route labels; tags counts them, --tagfocus keeps the leaking route`, { timeout: 240_000 }, async (t) => {
      if (!existsSync(node)) return t.skip(`${node} is missing (npm install the node22/node24 devDependencies)`);
      const svc = await startService({ node, program, env: { LEAKSCOPE_ASYNC_STACKS: '1' } });
      const dir = mkdtempSync(join(tmpdir(), 'leakscope-labels-'));
      dirs.push(dir);
      const file = join(dir, 'async.pb.gz');
      writeFileSync(file, await window(svc, ''));

      const tags = leakscope(['tags', '--tagshow', 'route|tenant', file]);
      const routes = new Map<string, number>();
      for (const m of tags.matchAll(/^\s+([\d.]+) \(\s*[\d.]+%\): (\S+)$/gm)) routes.set(m[2]!, Number(m[1]));
      // every interval a /api/leak request kept; the two newest of the steady pool; the nested one
      assert.equal(routes.get('/api/leak'), LEAKS, tags);
      assert.equal(routes.get('/api/steady'), 2, tags);
      assert.equal(routes.get('/api/nested'), 1, tags);
      assert.equal(routes.get('acme'), 1, tags);
      if (hasGo()) assert.equal(tags, goPprof(['-tags', '-tagshow=route|tenant', file]), 'leakscope tags equals go tool pprof -tags');
      else t.diagnostic(SKIP_NO_GO);

      const top = leakscope(['top', '--tagfocus', 'route=/api/leak', file]);
      assert.match(top, new RegExp(`^\\s+${LEAKS} .* leakHandler$`, 'm'), top);
      assert.doesNotMatch(top, /steadyHandler|tenantWork/, top);
      assert.match(top, new RegExp(`accounting for ${LEAKS}, `), top);

      const rooted = leakscope(['traces', '--tagroot', 'route', '--tagfocus', 'route=/api/steady', file]);
      // the label is a header of the trace and, with --tagroot, its root frame
      assert.match(rooted, /^\s+route:\s+\/api\/steady$/m, rooted);
      assert.match(rooted, /^\s+2\s+steadyHandler$/m, rooted);
      assert.match(rooted, /^\s+Timeout\n\s+\/api\/steady\n/m, rooted);
      assert.doesNotMatch(rooted, /leakHandler/, rooted);
      svc.proc.kill('SIGKILL');
    });
  }

  test('debug=1 text shows each entry\'s labels in Go\'s shape', { timeout: 240_000 }, async () => {
    const svc = await startService({ program, env: { LEAKSCOPE_ASYNC_STACKS: '1' } });
    const text = (await window(svc, '&debug=1')).toString();
    assert.ok(text.includes(`${LEAKS} @ Timeout\n# labels: {"route":"/api/leak"}\n#\tleakHandler\t${program}:`), text);
    assert.ok(text.includes(`1 @ Timeout\n# labels: {"route":"/api/nested", "tenant":"acme"}\n#\ttenantWork\t${program}:`), text);
    svc.proc.kill('SIGKILL');
  });
});
