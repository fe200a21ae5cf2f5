/**
 * Continuous profilers scrape the agent unchanged: this replays the requests Grafana Alloy's
 * `pyroscope.scrape` and Parca's scraper make with their default profiling config (paths, query
 * parameters, headers, one loop per profile on the scraper's interval; the interval shortened from
 * 15 s / 10 s to 3 s) against a live agent, and applies the checks each scraper applies to the
 * answer (status, Content-Type, body: Alloy's validateProfileData, Parca's profile.ParseData).
 * Every answer decodes (our decoder; `go tool pprof -raw` when go is installed) with the sample
 * types the scraper keeps, Alloy's sample keys (location addresses) are distinct and stable, and
 * consecutive `profile?seconds=N` answers cover consecutive windows whose CPU adds up to what the
 * service spent. Sources read: grafana/alloy internal/component/pyroscope/scrape (scrape.go,
 * target.go, scrape_loop.go, delta_profiles.go, validate.go); parca-dev/parca pkg/config/config.go,
 * pkg/scrape (target.go, scrape.go).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Profile } from '../src/core/profile.js';
import { decodeProfile } from '../src/formats/pprof.js';
import { NODE22, NODE24, type Service, killChildren, repoRoot, sleep, startService } from './helpers/prom-tools.js';
import { SKIP_NO_GO, hasGo } from './helpers/tools.js';

const program = join(repoRoot, 'test/programs/prom-service.mjs');
const INTERVAL_S = 3;
const BURN_MS = 200;
const tmp = mkdtempSync(join(tmpdir(), 'leakscope-scrape-'));
after(() => {
  killChildren();
  rmSync(tmp, { recursive: true, force: true });
});

interface Scraper {
  name: string;
  userAgent: string;
  /** seconds= of the delta CPU profile for a scrape interval */
  cpuSeconds: (interval: number) => number;
  /** the scraper's own test of an answer; throws with its reason */
  accept: (status: number, contentType: string, body: Buffer) => void;
}

/** Alloy's fetchProfile + validateProfileData. */
function alloyAccept(status: number, contentType: string, body: Buffer): void {
  if (Math.floor(status / 100) !== 2) throw new Error(`server returned HTTP status (${status}) ${body.toString().trim()}`);
  if (body.length === 0) throw new Error('empty profile');
  if (contentType === '') throw new Error('missing Content-Type header');
  if (!contentType.startsWith('application/octet-stream')) throw new Error(`unexpected Content-Type ${contentType}`);
  const text = body.toString('latin1', 0, 64).trimStart();
  if (body.length >= 10 && (/^<(!d|h|b|t)/i.test(text) || (/^[[{]/.test(text) && body.length > 20))) throw new Error('text response instead of pprof');
  if (body.length <= 2) throw new Error('data too short for pprof format');
  if (!(body[0] === 0x1f && body[1] === 0x8b) && (body[0]! & 7) >= 6) throw new Error('invalid protobuf data');
}

/** Parca's targetScraper.scrape + processScrapeResp (profile.ParseData). */
function parcaAccept(status: number, _contentType: string, body: Buffer): void {
  if (status !== 200) throw new Error(`server returned HTTP status ${status}`);
  if (body.length === 0) throw new Error('empty profile');
  decodeProfile(body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body);
}

const ALLOY: Scraper = { name: 'Alloy pyroscope.scrape', userAgent: 'Alloy/v1.9.0 (linux; binary)', cpuSeconds: (i) => i - 1, accept: alloyAccept };
const PARCA: Scraper = { name: 'Parca', userAgent: 'conprof/v0.24.0', cpuSeconds: (i) => i, accept: parcaAccept };

/** The default profiling config both share (Alloy's godeltaprof targets are off by default). */
const PROFILES: { name: string; path: string; delta: boolean; types: string[] }[] = [
  { name: 'memory', path: '/debug/pprof/allocs', delta: false, types: ['inuse_objects/count', 'inuse_space/bytes'] },
  { name: 'block', path: '/debug/pprof/block', delta: false, types: ['contentions/count', 'delay/nanoseconds'] },
  { name: 'goroutine', path: '/debug/pprof/goroutine', delta: false, types: ['goroutine/count'] },
  { name: 'mutex', path: '/debug/pprof/mutex', delta: false, types: ['contentions/count', 'delay/nanoseconds'] },
  { name: 'process_cpu', path: '/debug/pprof/profile', delta: true, types: ['samples/count', 'cpu/nanoseconds'] },
];

interface Got {
  scraper: string;
  profile: string;
  url: string;
  started: number;
  body: Buffer;
  p: Profile;
}

function types(p: Profile): string[] {
  return p.sampleTypes.map((t) => `${t.type}/${t.unit}`);
}

/** Runs one scraper's loops (one per profile, each on its own offset) for `rounds` intervals. */
async function replay(s: Scraper, base: string, rounds: number): Promise<Got[]> {
  const got: Got[] = [];
  const loops = PROFILES.map(async (prof, i) => {
    // both scrapers start each loop at an offset within the interval (a hash of the target)
    await sleep(((i * 0.37) % 1) * INTERVAL_S * 1000);
    for (let r = 0; r < rounds; r++) {
      const tick = Date.now();
      const q = prof.delta ? `?seconds=${s.cpuSeconds(INTERVAL_S)}` : '';
      const url = `${base}${prof.path}${q}`;
      // Go's client sends these; it would also decompress a Content-Encoding: gzip body, which
      // the agent (like net/http/pprof) never sets: the gzip is the profile's own
      const r0 = await fetch(url, { headers: { 'User-Agent': s.userAgent, 'Accept-Encoding': 'gzip' }, signal: AbortSignal.timeout((INTERVAL_S + 10) * 1000) });
      const body = Buffer.from(await r0.arrayBuffer());
      s.accept(r0.status, r0.headers.get('content-type') ?? '', body);
      got.push({ scraper: s.name, profile: prof.name, url, started: tick, body, p: decodeProfile(gunzipSync(body)) });
      // a ticker: the next scrape at the next tick, at once when the scrape took longer
      await sleep(Math.max(0, tick + INTERVAL_S * 1000 - Date.now()));
    }
  });
  await Promise.all(loops);
  return got;
}

/** cpu nanoseconds of the samples whose stack contains `fn` (all samples without one) */
function cpuIn(p: Profile, fn?: string): number {
  const t = p.sampleTypes.findIndex((x) => x.type === 'cpu');
  const nt = p.sampleTypes.length;
  let sum = 0;
  for (let i = 0; i < p.samples.count; i++) {
    let hit = fn === undefined;
    for (let k = p.samples.stackStart[i]!; k < p.samples.stackStart[i + 1]!; k++) {
      const loc = p.locations[p.samples.stack[k]!]!;
      if (loc.lines.some((l) => p.functions[l.fn]?.name === fn)) hit = true;
    }
    if (hit) sum += p.samples.values[i * nt + t]!;
  }
  return sum;
}

describe('continuous profilers scrape the agent with their default configs', () => {
  let svc: Service;
  let base: string;
  before(async () => {
    svc = await startService({ program, env: { LEAK_KB: '64', BURN_MS: String(BURN_MS) } });
    await sleep(1500);
    base = new URL(svc.agent).origin;
  });

  for (const s of [ALLOY, PARCA]) {
    test(`${s.name}: every default path answers a profile of the right kind; CPU windows add up`, { timeout: 90_000 }, async (t) => {
      const rounds = 3;
      const got = await replay(s, base, rounds);
      assert.equal(got.length, PROFILES.length * rounds);
      for (const g of got) {
        const want = PROFILES.find((x) => x.name === g.profile)!;
        assert.deepEqual(types(g.p), want.types, `${g.url}: sample types`);
      }
      // memory: samples present, every location has its own non-zero address, the same across
      // scrapes (Alloy keys samples by their locations' addresses)
      const mem = got.filter((g) => g.profile === 'memory');
      const addrOf = new Map<string, bigint>();
      for (const g of mem) {
        assert.ok(g.p.samples.count > 0, 'the heap profile has samples');
        const seen = new Set<bigint>();
        for (const loc of g.p.locations) {
          assert.notEqual(loc.address, 0n);
          assert.ok(!seen.has(loc.address), 'addresses are distinct within a profile');
          seen.add(loc.address);
          const f = g.p.functions[loc.lines[0]!.fn]!;
          const key = `${f.name} ${f.filename}:${loc.lines[0]!.line}:${loc.lines[0]!.column}`;
          const prev = addrOf.get(key);
          if (prev !== undefined) assert.equal(loc.address, prev, `${key}: the same address in every scrape`);
          addrOf.set(key, loc.address);
        }
        const keys = new Set<string>();
        for (let i = 0; i < g.p.samples.count; i++) {
          const k = [...g.p.samples.stack.subarray(g.p.samples.stackStart[i], g.p.samples.stackStart[i + 1])].map((l) => g.p.locations[l]!.address).join(',');
          assert.ok(!keys.has(k), 'no two samples share a key: Alloy would merge them');
          keys.add(k);
        }
      }
      // mutex and block: what Go answers with that profiling off: the types, no samples
      for (const g of got.filter((x) => x.profile === 'mutex' || x.profile === 'block')) {
        assert.equal(g.p.samples.count, 0);
        assert.deepEqual(g.p.periodType, { type: 'contentions', unit: 'count' });
      }
      // goroutine: the async census has the service's interval timers
      for (const g of got.filter((x) => x.profile === 'goroutine')) assert.ok(g.p.samples.count > 0);
      // process_cpu: consecutive seconds=N windows, each N s long, and their CPU adds up
      const cpu = got.filter((g) => g.profile === 'process_cpu').sort((a, b) => Number(a.p.timeNanos - b.p.timeNanos));
      const n = s.cpuSeconds(INTERVAL_S);
      let burnt = 0;
      let named = 0;
      let covered = 0;
      for (let k = 0; k < cpu.length; k++) {
        const d = Number(cpu[k]!.p.durationNanos) / 1e9;
        assert.ok(Math.abs(d - n) < 0.5, `profile ${k}: duration ${d} s for seconds=${n}`);
        if (k > 0) {
          const prevEnd = Number(cpu[k - 1]!.p.timeNanos + cpu[k - 1]!.p.durationNanos) / 1e9;
          const gap = Number(cpu[k]!.p.timeNanos) / 1e9 - prevEnd;
          assert.ok(gap > -0.05 && gap < INTERVAL_S - n + 0.75, `profile ${k} starts ${gap.toFixed(2)} s after the previous one ended`);
        }
        burnt += cpuIn(cpu[k]!.p) / 1e9;
        named += cpuIn(cpu[k]!.p, 'burnMainThread') / 1e9;
        covered += d;
      }
      // BURN_MS of every 1000 ms spinning; the windows cover `covered` seconds. The main thread's
      // CPU in the profiles is that plus a little garbage-making; V8 charges some of a hot loop
      // to its caller (README, "What profile cannot see"), so the named function gets part of it.
      // On this shared 2-core machine the profiles see 70-85% of the spin (the sampler misses
      // ticks while the thread waits for a core), hence the wide lower bound.
      const expected = (covered * BURN_MS) / 1000;
      t.diagnostic(`${s.name}: main thread ${burnt.toFixed(2)} s (burnMainThread ${named.toFixed(2)} s) in ${covered.toFixed(1)} s`);
      assert.ok(burnt > expected * 0.5 && burnt < expected + covered * 0.15, `main thread: ${burnt.toFixed(2)} s of CPU in ${covered.toFixed(1)} s of profiles, expected about ${expected.toFixed(2)} s`);
      assert.ok(named > 0, 'burnMainThread is in the profiles');

      if (!hasGo()) return;
      // one answer of each kind through go tool pprof -raw
      for (const prof of PROFILES) {
        const g = got.find((x) => x.profile === prof.name)!;
        const file = join(tmp, `${s.name.split(' ')[0]}-${prof.name}.pb.gz`);
        writeFileSync(file, g.body);
        const r = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8', env: { ...process.env, PPROF_TMPDIR: tmp } });
        assert.equal(r.status, 0, `go tool pprof -raw ${prof.path}: ${r.stderr}`);
        assert.ok(r.stdout.includes(prof.types.join(' ')), `go tool pprof -raw ${prof.path} lists ${prof.types.join(' ')}:\n${r.stdout.slice(0, 400)}`);
      }
    });
  }

  test('bad parameters on these paths: one line and 400; HEAD collects nothing', async () => {
    for (const [path, why] of [
      ['allocs?seconds=0', /^seconds must be an integer from 1 to 300 \(got '0'\)\n$/],
      ['mutex?seconds=abc', /^seconds must be an integer from 1 to 300 \(got 'abc'\)\n$/],
      ['block?debug=1', /^debug must be one of 0 here \(got '1'\)\n$/],
      ['delta_heap?gc=2', /^gc must be 0 or 1 \(got '2'\)\n$/],
    ] as const) {
      const r = await fetch(`${base}/debug/pprof/${path}`);
      assert.equal(r.status, 400, path);
      assert.match(await r.text(), why, path);
    }
    const h = await fetch(`${base}/debug/pprof/allocs`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-type'), 'application/octet-stream');
    assert.equal((await h.arrayBuffer()).byteLength, 0);
  });

  test('godeltaprof paths (Alloy profile.godeltaprof_*) answer too', async (t) => {
    for (const [path, want] of [
      ['delta_heap', ['inuse_objects/count', 'inuse_space/bytes']],
      ['delta_mutex', ['contentions/count', 'delay/nanoseconds']],
      ['delta_block', ['contentions/count', 'delay/nanoseconds']],
    ] as const) {
      const r = await fetch(`${base}/debug/pprof/${path}`, { headers: { 'User-Agent': ALLOY.userAgent } });
      const body = Buffer.from(await r.arrayBuffer());
      alloyAccept(r.status, r.headers.get('content-type') ?? '', body);
      assert.deepEqual(types(decodeProfile(gunzipSync(body))), [...want], path);
    }
    if (!hasGo()) t.diagnostic(SKIP_NO_GO);
  });
});

for (const [label, node] of [['Node 22', NODE22], ['Node 24', NODE24]] as const) {
  test(`${label}: the scrapers' paths answer with the right sample types`, { skip: existsSync(node) ? false : `${label} binary not installed`, timeout: 60_000 }, async () => {
    const svc = await startService({ node, program, env: { LEAK_KB: '64' } });
    await sleep(1500);
    const base = new URL(svc.agent).origin;
    for (const prof of PROFILES) {
      const url = `${base}${prof.path}${prof.delta ? '?seconds=1' : ''}`;
      const r = await fetch(url, { headers: { 'User-Agent': ALLOY.userAgent, 'Accept-Encoding': 'gzip' } });
      const body = Buffer.from(await r.arrayBuffer());
      alloyAccept(r.status, r.headers.get('content-type') ?? '', body);
      parcaAccept(r.status, r.headers.get('content-type') ?? '', body);
      const p = decodeProfile(gunzipSync(body));
      assert.deepEqual(types(p), prof.types, url);
      if (prof.name === 'memory') assert.ok(p.samples.count > 0 && p.locations.every((l) => l.address !== 0n));
    }
    svc.proc.kill('SIGKILL');
  });
}
