/**
 * The agent's pure parts: V8 heap / CPU profiles and the async census → pprof, the sample-size
 * inference, the source-map decoder, options and stack parsing. Inputs are JSON shaped exactly as
 * the inspector returns it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  decodeDataUrl,
  decodeVlq,
  encodeVlq,
  findSourceMappingURL,
  lookupSourceMap,
  parseSourceMap,
} from '../src/core/agent-sourcemap.js';
import { LeakscopeError } from '../src/core/errors.js';
import type { Profile } from '../src/core/profile.js';
import { decodeProfile, encodeProfile } from '../src/formats/pprof.js';
import {
  type V8CpuProfile,
  type V8SamplingHeapProfile,
  censusToPprof,
  censusToText,
  cpuProfileToPprof,
  heapDeltaToPprof,
  heapProfileToPprof,
  heapToText,
  stackToText,
  urlToPath,
} from '../src/formats/v8-profiles.js';
import { parseStack } from '../src/agent/endpoints.js';
import { isLoopback, optionsFromEnv, parseAddr, resolveOptions } from '../src/agent/options.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Samples as `value… name@file:line <- …` lines, sorted: a stable text form for assertions. */
function dump(p: Profile): string[] {
  const out: string[] = [];
  const t = p.samples;
  const nt = p.sampleTypes.length;
  for (let s = 0; s < t.count; s++) {
    const vals = Array.from(t.values.subarray(s * nt, s * nt + nt)).join(' ');
    const frames: string[] = [];
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) {
      const loc = p.locations[t.stack[i]!]!;
      const fn = p.functions[loc.lines[0]!.fn]!;
      frames.push(`${fn.name}@${fn.filename}:${loc.lines[0]!.line}`);
    }
    const labels: string[] = [];
    for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) labels.push(`${p.strings[t.labelKey[i]!]}=${p.strings[t.labelStr[i]!]}`);
    out.push(`${vals} ${frames.join(' <- ')}${labels.length ? ` {${labels.join(',')}}` : ''}`);
  }
  return out.sort();
}

const RATE = 524288;
/** What V8 reports for an object of `size` bytes: size × round(scale). */
function reported(size: number, rate = RATE): number {
  return size * Math.round(1 / (1 - Math.exp(-size / rate)));
}

function cf(functionName: string, url: string, lineNumber: number, columnNumber = 0) {
  return { functionName, scriptId: '1', url, lineNumber, columnNumber };
}

const heapA: V8SamplingHeapProfile = {
  head: {
    callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
    selfSize: 0,
    id: 1,
    children: [
      {
        callFrame: cf('handle', 'file:///srv/app%20x/server.js', 9, 2),
        selfSize: 0,
        id: 2,
        children: [
          { callFrame: cf('rememberRequest', 'file:///srv/app%20x/server.js', 3, 0), selfSize: 0, id: 3, children: [] },
          { callFrame: cf('', 'file:///srv/app%20x/server.js', 20, 4), selfSize: 0, id: 4, children: [] },
        ],
      },
    ],
  },
  samples: [
    { size: reported(48), nodeId: 3, ordinal: 1 },
    { size: reported(48), nodeId: 3, ordinal: 2 },
    { size: reported(800016), nodeId: 4, ordinal: 3 },
  ],
};

test('heap profile → pprof: live samples and bytes per stack, 1-based function start lines', () => {
  const p = heapProfileToPprof(heapA, { interval: RATE });
  assert.deepEqual(p.sampleTypes, [
    { type: 'inuse_objects', unit: 'count' },
    { type: 'inuse_space', unit: 'bytes' },
  ]);
  assert.deepEqual(p.periodType, { type: 'space', unit: 'bytes' });
  assert.equal(p.period, RATE);
  assert.deepEqual(dump(p), [
    `1 ${reported(800016)} (anonymous)@/srv/app x/server.js:21 <- handle@/srv/app x/server.js:10`,
    `2 ${2 * reported(48)} rememberRequest@/srv/app x/server.js:4 <- handle@/srv/app x/server.js:10`,
  ]);
  assert.equal(
    heapToText(p),
    [
      `heap profile: 3: ${2 * reported(48) + reported(800016)} [samples: bytes] @ heap/${RATE}`,
      `2: ${2 * reported(48)} @`,
      '#\trememberRequest\t/srv/app x/server.js:4',
      '#\thandle\t/srv/app x/server.js:10',
      '',
      `1: ${reported(800016)} @`,
      '#\t(anonymous)\t/srv/app x/server.js:21',
      '#\thandle\t/srv/app x/server.js:10',
      '',
      '',
    ].join('\n'),
  );
  // the encoder accepts it and the decoder reads back the same samples
  const back = decodeProfile(encodeProfile(p));
  assert.deepEqual(dump(back), dump(p));
  assert.equal(back.strings[0], '');
});

test('heap delta: samples born in between are added, freed ones subtracted', () => {
  const later: V8SamplingHeapProfile = {
    head: heapA.head,
    samples: [heapA.samples[0]!, { size: reported(800016), nodeId: 4, ordinal: 9 }, { size: reported(48), nodeId: 3, ordinal: 10 }],
  };
  const p = heapDeltaToPprof(heapA, later, { interval: RATE });
  // ordinal 1 stays (not counted), 2 and 3 freed, 9 and 10 new
  assert.deepEqual(dump(p), [
    `0 0 (anonymous)@/srv/app x/server.js:21 <- handle@/srv/app x/server.js:10`,
    `0 0 rememberRequest@/srv/app x/server.js:4 <- handle@/srv/app x/server.js:10`,
  ]);
  const grown: V8SamplingHeapProfile = { head: heapA.head, samples: [...heapA.samples, { size: reported(48), nodeId: 3, ordinal: 11 }] };
  assert.deepEqual(dump(heapDeltaToPprof(heapA, grown, { interval: RATE })), [
    `1 ${reported(48)} rememberRequest@/srv/app x/server.js:4 <- handle@/srv/app x/server.js:10`,
  ]);
  const shrunk: V8SamplingHeapProfile = { head: heapA.head, samples: [heapA.samples[2]!] };
  assert.deepEqual(dump(heapDeltaToPprof(heapA, shrunk, { interval: RATE })), [
    `-2 ${-2 * reported(48)} rememberRequest@/srv/app x/server.js:4 <- handle@/srv/app x/server.js:10`,
  ]);
});

test('CPU profile → pprof: one sample per tick, idle dropped, root frame hidden', () => {
  const prof: V8CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 3, 5] },
      { id: 2, callFrame: cf('main', 'file:///a.js', 0), children: [4] },
      { id: 3, callFrame: { functionName: '(idle)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 } },
      { id: 4, callFrame: cf('burnCpu', 'file:///a.js', 10) },
      { id: 5, callFrame: { functionName: '(garbage collector)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 } },
    ],
    startTime: 1_000_000,
    endTime: 3_000_000,
    samples: [4, 4, 4, 3, 3, 2, 5],
    timeDeltas: [0, 10, 10, 10, 10, 10, 10],
  };
  const p = cpuProfileToPprof(prof, { intervalMicros: 10_000 });
  assert.deepEqual(p.sampleTypes, [
    { type: 'samples', unit: 'count' },
    { type: 'cpu', unit: 'nanoseconds' },
  ]);
  assert.equal(p.durationNanos, 2_000_000_000n);
  assert.equal(p.period, 10_000_000);
  assert.deepEqual(dump(p), [
    '1 10000000 (garbage collector)@:0',
    '1 10000000 main@/a.js:1',
    '3 30000000 burnCpu@/a.js:11 <- main@/a.js:1',
  ]);
});

test('census → goroutine/count profile with a type label, and the debug=1 text', () => {
  const entries = [
    { type: 'Interval', frame: cf('pollForever', 'file:///srv/app.js', 16, 14), count: 25 },
    { type: 'TCPServer', frame: cf('', 'file:///srv/app.js', 47, 30), count: 1 },
    { type: 'Interval', frame: cf('pollForever', 'file:///srv/app.js', 16, 14), count: 2 },
    { type: 'FSReqCallback', count: 3 },
  ];
  const p = censusToPprof(entries);
  assert.deepEqual(p.sampleTypes, [{ type: 'goroutine', unit: 'count' }]);
  assert.deepEqual(p.periodType, { type: 'goroutine', unit: 'count' });
  assert.deepEqual(dump(p), [
    '1 (anonymous)@/srv/app.js:48 <- TCPServer@:0 {type=TCPServer}',
    '27 pollForever@/srv/app.js:17 <- Interval@:0 {type=Interval}',
    '3 (FSReqCallback: callback location unknown)@:0 <- FSReqCallback@:0 {type=FSReqCallback}',
  ]);
  // Go sorts count profiles by count, highest first
  assert.equal(p.samples.values[0], 27);
  assert.equal(
    censusToText(entries),
    [
      'async profile: total 31',
      '27 @ Interval',
      '#\tpollForever\t/srv/app.js:17',
      '',
      '3 @ FSReqCallback',
      '#\t(FSReqCallback: callback location unknown)',
      '',
      '1 @ TCPServer',
      '#\t(anonymous)\t/srv/app.js:48',
      '',
      '',
    ].join('\n'),
  );
});

test('stack text and V8 stack-string parsing', () => {
  const text = stackToText('main thread [running JavaScript]:', [cf('stuckInHere', 'file:///srv/a.js', 35, 2), cf('', 'node:internal/timers', 580, 16)]);
  assert.equal(
    text,
    'main thread [running JavaScript]:\nstuckInHere(...)\n\t/srv/a.js:36:3\n(anonymous)(...)\n\tnode:internal/timers:581:17\n',
  );
  const frames = parseStack(
    'Error\n    at AsyncHook.init (/repo/dist/src/agent/main-services.js:120:15)\n    at emitInitNative (node:internal/async_hooks:202:43)\n    at startPoller (/srv/app.mjs:17:3)\n    at async handler (file:///srv/b.mjs:5:9)\n    at /srv/app.mjs:60:7',
  );
  assert.deepEqual(frames, [
    { functionName: 'startPoller', url: '/srv/app.mjs', lineNumber: 16, columnNumber: 2 },
    { functionName: 'handler', url: 'file:///srv/b.mjs', lineNumber: 4, columnNumber: 8 },
    { functionName: '', url: '/srv/app.mjs', lineNumber: 59, columnNumber: 6 },
  ]);
  assert.equal(urlToPath('file:///a%20b/c.js'), '/a b/c.js');
  assert.equal(urlToPath('node:internal/timers'), 'node:internal/timers');
});

test('VLQ round-trips and rejects garbage', () => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 30), max: 2 ** 30 }), (v) => {
      const s = encodeVlq(v);
      assert.deepEqual(decodeVlq(s, 0), { value: v, next: s.length });
    }),
  );
  assert.deepEqual(decodeVlq('AAgBC', 2), { value: 16, next: 4 });
  assert.throws(() => decodeVlq('g', 0), LeakscopeError);
  assert.throws(() => decodeVlq('!', 0), LeakscopeError);
  assert.throws(() => decodeVlq('gggggggggA', 0), LeakscopeError);
});

test('source maps: a hand-built map and the maps tsc wrote for this repo', () => {
  // gen line 0: col 0 → a.ts 0:0; col 10 → a.ts 4:2; gen line 2: col 4 → b.ts 9:0
  const mappings = [
    `${encodeVlq(0)}${encodeVlq(0)}${encodeVlq(0)}${encodeVlq(0)},${encodeVlq(10)}${encodeVlq(0)}${encodeVlq(4)}${encodeVlq(2)}`,
    '',
    `${encodeVlq(4)}${encodeVlq(1)}${encodeVlq(5)}${encodeVlq(-2)}`,
  ].join(';');
  const map = parseSourceMap({ version: 3, sources: ['a.ts', 'b.ts'], sourceRoot: 'src', mappings });
  assert.deepEqual(lookupSourceMap(map, 0, 0), { source: 'src/a.ts', line: 1, column: 0 });
  assert.deepEqual(lookupSourceMap(map, 0, 12), { source: 'src/a.ts', line: 5, column: 2 });
  assert.equal(lookupSourceMap(map, 1, 0), undefined);
  assert.deepEqual(lookupSourceMap(map, 2, 0), { source: 'src/b.ts', line: 10, column: 0 });
  assert.equal(lookupSourceMap(map, 9, 0), undefined);
  assert.throws(() => parseSourceMap('{'), LeakscopeError);
  assert.throws(() => parseSourceMap({ version: 2, sources: [], mappings: '' }), LeakscopeError);
  assert.throws(() => parseSourceMap({ version: 3, sources: ['a'], mappings: 'AEAA' }), LeakscopeError);

  // tsc's own output: the line of a function in the .js maps to its line in the .ts
  const js = readFileSync(resolve(repoRoot, 'dist/src/core/agent-sourcemap.js'), 'utf8');
  const ts = readFileSync(resolve(repoRoot, 'src/core/agent-sourcemap.ts'), 'utf8');
  const ref = findSourceMappingURL(js);
  assert.equal(ref, 'agent-sourcemap.js.map');
  const real = parseSourceMap(readFileSync(resolve(repoRoot, 'dist/src/core', ref!), 'utf8'));
  for (const name of ['decodeVlq', 'parseSourceMap', 'lookupSourceMap']) {
    const jsLine = js.split('\n').findIndex((l) => l.startsWith(`export function ${name}(`));
    const tsLine = ts.split('\n').findIndex((l) => l.startsWith(`export function ${name}(`));
    assert.ok(jsLine >= 0 && tsLine >= 0);
    const pos = lookupSourceMap(real, jsLine, 0);
    assert.equal(pos?.source, '../../../src/core/agent-sourcemap.ts');
    assert.equal(pos?.line, tsLine + 1, name);
  }
  const data = `data:application/json;base64,${Buffer.from('{"version":3}').toString('base64')}`;
  assert.equal(decodeDataUrl(data), '{"version":3}');
  assert.equal(findSourceMappingURL(`x\n//# sourceMappingURL=${data}\n`), data);
  assert.equal(findSourceMappingURL('no map here'), undefined);
});

test('options: loopback only without a token, env parsing', () => {
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost') && isLoopback('[::1]'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1') && !isLoopback('::'));
  const refused = resolveOptions({ host: '0.0.0.0' });
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.reason : '', /refusing to listen on 0\.0\.0\.0:6060 without a token/);
  assert.equal(resolveOptions({ host: '0.0.0.0', token: 's3cret' }).ok, true);
  assert.equal(resolveOptions({ host: '0.0.0.0', listen: false }).ok, true);
  assert.equal(resolveOptions({ port: 70000 }).ok, false);
  assert.deepEqual(parseAddr('127.0.0.1:6060'), { host: '127.0.0.1', port: 6060 });
  assert.deepEqual(parseAddr(':0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseAddr('[::1]:7'), { host: '::1', port: 7 });
  assert.equal(parseAddr('nope'), undefined);
  const env = optionsFromEnv({ LEAKSCOPE_ADDR: '0.0.0.0:7070', LEAKSCOPE_TOKEN: 't', LEAKSCOPE_HEAP_INTERVAL: '65536', LEAKSCOPE_ASYNC_STACKS: '1' });
  assert.deepEqual(env, { ok: true, value: { host: '0.0.0.0', port: 7070, token: 't', heapInterval: 65536, asyncStacks: true } });
  assert.equal(optionsFromEnv({ LEAKSCOPE_HEAP_INTERVAL: 'lots' }).ok, false);
});
