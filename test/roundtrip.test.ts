/**
 * decode → encode → decode keeps every field of the model, for real profiles (ours in testdata/,
 * the shared conformance fixtures when present) and for generated ones that set every optional
 * field. With Go on PATH, `go tool pprof` must also report our re-encoded file exactly as it
 * reports the original.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { LeakscopeError } from '../src/core/errors.js';
import type { Profile } from '../src/core/profile.js';
import { decodeProfile, encodeProfile } from '../src/formats/pprof.js';
import { parseProfileBytes } from '../src/node/source.js';
import { makeProfile, profileSnapshot } from './helpers/profiles.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shared = path.resolve(repoRoot, '..', 'shared', 'fixtures');

function listProfiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.endsWith('.error') && !f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f));
}

const ownFiles = listProfiles(path.join(repoRoot, 'testdata', 'profiles'));
const leakysvcFiles = listProfiles(path.join(shared, 'go', 'leakysvc', 'profiles'));
const peerFiles = listProfiles(path.join(shared, 'peers', 'pprof', 'profiles'));

function roundTrip(p: Profile): Profile {
  return decodeProfile(encodeProfile(p));
}

/** Decodes a fixture; profiles that are malformed on purpose (peers' .NET cases) give undefined. */
function tryLoad(file: string): Profile | undefined {
  try {
    return parseProfileBytes(readFileSync(file), path.basename(file));
  } catch (e) {
    if (e instanceof LeakscopeError) return undefined;
    throw e;
  }
}

test('own testdata profiles: decode → encode → decode is exact', (t) => {
  if (ownFiles.length === 0) return t.skip('testdata/profiles is empty (run scripts/gen-fixtures.sh)');
  for (const f of ownFiles) {
    const p = tryLoad(f);
    assert.ok(p, `${f} must decode`);
    assert.deepStrictEqual(profileSnapshot(roundTrip(p)), profileSnapshot(p), f);
  }
});

test('shared fixtures: decode → encode → decode is exact', (t) => {
  const files = [...leakysvcFiles, ...peerFiles];
  if (files.length === 0) return t.skip(`shared fixtures absent (${shared}); nothing to round-trip`);
  let ok = 0;
  const refused: string[] = [];
  for (const f of files) {
    const p = tryLoad(f);
    if (!p) {
      refused.push(path.basename(f));
      continue;
    }
    const q = roundTrip(p);
    assert.deepStrictEqual(profileSnapshot(q), profileSnapshot(p), f);
    // and once more: encoding is deterministic for what it produced
    assert.deepStrictEqual(encodeProfile(roundTrip(q)), encodeProfile(q), `${f}: second encode differs`);
    ok++;
  }
  assert.ok(ok >= files.length - 4, `round-tripped ${ok} of ${files.length}; refused: ${refused.join(', ')}`);
  t.diagnostic(`round-tripped ${ok} fixtures; refused as malformed: ${refused.join(', ') || 'none'}`);
});

test('generated profiles with every optional field round-trip exactly', () => {
  const variants = [
    { samples: 300, functions: 60, depth: [1, 30] as [number, number], seed: 7, rich: true, inlined: 0.4 },
    { samples: 200, functions: 40, seed: 11, negative: true, bigValues: true, rich: true },
    { samples: 200, functions: 40, seed: 12, negative: true, bigValues: true, inlined: 1 },
    { samples: 50, functions: 5, seed: 13, sampleTypes: [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }], rich: true },
    { samples: 10, functions: 3, seed: 14, sampleTypes: [], bytesLabel: false },
    { samples: 0, functions: 1, seed: 15 },
  ];
  for (const v of variants) {
    const p = makeProfile(v);
    const q = roundTrip(p);
    assert.deepStrictEqual(profileSnapshot(q), profileSnapshot(p), JSON.stringify(v));
  }
});

test('values beyond 2^53 and negative values keep their exact int64 value', () => {
  const p = makeProfile({ samples: 400, functions: 20, seed: 21, negative: true, bigValues: true });
  assert.ok(p.samples.bigValues && p.samples.bigValues.size > 0, 'generator made big values');
  const q = roundTrip(p);
  assert.ok(q.samples.bigValues, 'decoded profile keeps bigValues');
  for (const [k, v] of p.samples.bigValues) assert.equal(q.samples.bigValues.get(k), v);
  let negatives = 0;
  for (let i = 0; i < q.samples.values.length; i++) if (q.samples.values[i]! < 0) negatives++;
  assert.ok(negatives > 0, 'negative values survive');
  // int64 extremes
  const e = makeProfile({ samples: 3, functions: 2, seed: 22, sampleTypes: [{ type: 'x', unit: 'count' }], bytesLabel: false });
  const extremes = [(1n << 63n) - 1n, -(1n << 63n), (1n << 53n) + 1n];
  e.samples.bigValues = new Map(extremes.map((v, i) => [i, v]));
  extremes.forEach((v, i) => (e.samples.values[i] = Number(v)));
  const r = roundTrip(e);
  extremes.forEach((v, i) => assert.equal(r.samples.bigValues?.get(i), v));
});

test('labels (str, num, num_unit), inlined lines, columns, is_folded and header fields survive', () => {
  const p = makeProfile({ samples: 120, functions: 30, seed: 5, rich: true, inlined: 0.5 });
  const q = roundTrip(p);
  const labelSet = (x: Profile) => {
    const s = new Set<string>();
    for (let i = 0; i < x.samples.labelKey.length; i++) {
      s.add(`${x.strings[x.samples.labelKey[i]!]}|${x.strings[x.samples.labelStr[i]!]}|${x.samples.labelNum[i]}|${x.strings[x.samples.labelUnit[i]!]}`);
    }
    return s;
  };
  const labels = labelSet(q);
  assert.ok([...labels].some((l) => l.startsWith('thread|worker-1|0|')), 'string label');
  assert.ok([...labels].some((l) => /^timeout\|\|\d+\|ms$/.test(l)), 'numeric label with unit');
  assert.ok([...labels].some((l) => /^bytes\|\|\d+\|$/.test(l)), 'numeric label');
  assert.deepStrictEqual(labels, labelSet(p));
  assert.ok(q.locations.some((l) => l.lines.length === 2), 'inlined lines');
  assert.ok(q.locations.some((l) => l.lines.some((ln) => ln.column > 0)), 'columns');
  assert.ok(q.locations.some((l) => l.isFolded), 'is_folded');
  assert.ok(q.locations.some((l) => l.lines.length === 0), 'location without lines');
  assert.equal(q.dropFrames, 'runtime\\..*');
  assert.equal(q.keepFrames, 'runtime\\.main');
  assert.deepStrictEqual(q.comments, p.comments);
  assert.equal(q.docUrl, 'https://example.com/docs/profiles');
  assert.equal(q.defaultSampleType, 'alloc_space');
  assert.deepStrictEqual(q.periodType, { type: 'space', unit: 'bytes' });
  assert.equal(q.period, 524288);
  assert.equal(q.timeNanos, 1764288000123456789n);
  assert.equal(q.durationNanos, 30000000000n);
});

// ---- go tool pprof reports our re-encoded profiles exactly as the originals ----

const goAvailable = spawnSync('go', ['version'], { encoding: 'utf8', timeout: 20000 }).status === 0;

function goPprof(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      'go',
      ['tool', 'pprof', ...args],
      { timeout: 30000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PPROF_BINARY_PATH: '/nonexistent' } },
      (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

/** go's output minus lines that name the file itself (they would differ by path only). */
function strip(out: string, file: string): string {
  return out
    .split('\n')
    .filter((l) => !l.includes(file) && !l.includes(path.basename(file)))
    .join('\n');
}

test('go tool pprof reads our re-encoded profiles exactly like the originals', async (t) => {
  if (!goAvailable) return t.skip('go is not on PATH: skipping the go tool pprof comparison');
  const dir = mkdtempSync(path.join(tmpdir(), 'leakscope-rt-'));
  try {
    const cases: { name: string; file: string; ours: string; top: boolean }[] = [];
    const gen = makeProfile({ samples: 300, functions: 60, seed: 31, rich: true, inlined: 0.3 });
    const genFile = path.join(dir, 'generated.pb.gz');
    writeFileSync(genFile, gzipSync(encodeProfile(gen)));
    const candidates = [genFile, ...ownFiles, ...leakysvcFiles.filter((f) => /\.5\.pb\.gz$/.test(f)), ...peerFiles];
    let skippedLarge = 0;
    for (const f of candidates) {
      const p = tryLoad(f);
      if (!p) continue;
      // the largest peer profiles (over 250k stack entries) cost go seconds each; the
      // model round trip above covers them
      if (peerFiles.includes(f) && p.samples.stack.length > 250000) {
        skippedLarge++;
        continue;
      }
      const ours = path.join(dir, `${cases.length}.ours.pb.gz`);
      writeFileSync(ours, gzipSync(encodeProfile(p)));
      // -top for ours and the Go service's; -raw (everything the file holds) for all
      cases.push({ name: path.basename(f), file: f, ours, top: !peerFiles.includes(f) });
    }
    let compared = 0;
    const raw = ['-raw'];
    const top = ['-top', '-nodecount=100000', '-nodefraction=0', '-edgefraction=0'];
    // two at a time: the machine has 2 cores
    const jobs = cases.flatMap((c) => (c.top ? [raw, top] : [raw]).map((m) => ({ c, m })));
    for (let i = 0; i < jobs.length; i += 2) {
      await Promise.all(
        jobs.slice(i, i + 2).map(async ({ c, m }) => {
          const [a, b] = await Promise.all([goPprof([...m, c.file]), goPprof([...m, c.ours])]);
          assert.equal(b.code, a.code, `${c.name} ${m[0]}: go's exit status differs`);
          assert.equal(strip(b.stdout, c.ours), strip(a.stdout, c.file), `${c.name} ${m[0]}: go tool pprof output differs`);
          compared++;
        }),
      );
    }
    assert.ok(compared >= 2 * (1 + ownFiles.length));
    t.diagnostic(`compared ${compared} go tool pprof -raw/-top outputs for ${cases.length} profiles (${skippedLarge} large peer profiles left to the model round trip)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
