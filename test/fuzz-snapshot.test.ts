/**
 * Robustness of the heap snapshot parser: a real snapshot is mutated (JSON's own characters and
 * random bytes written over it) and truncated, then read in every mode (full, ids only, id horizon
 * only, edges skipped) at several chunk sizes. Reading must succeed or throw LeakscopeError with a
 * one-line message: never another exception, never a hang.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { LeakscopeError } from '../src/core/errors.js';
import { HeapSnapshotParser, type RawHeapSnapshot } from '../src/formats/heapsnapshot.js';
import { runNode } from './helpers/snapshot-node.js';

let dir = '';
let base: Uint8Array = new Uint8Array(0);
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-fuzz-snap-'));
  const file = path.join(dir, 'seed.heapsnapshot');
  runNode(process.execPath, ['-e', `globalThis.keep = new Map([[1, { s: 'caf\\u00e9 "q"\\n' }]]); require('v8').writeHeapSnapshot(${JSON.stringify(file)})`]);
  base = new Uint8Array(readFileSync(file));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const JSON_BYTES = [...'0123456789,[]{}":\\ \n\r\tu-.eE'].map((c) => c.charCodeAt(0));
const MODES = [{}, { idsOnly: true }, { horizonOnly: true }, { skipEdges: true }] as const;

/** loadHeapSnapshot's two-thread parse, on one thread: edges apart, then attached */
function splitParse(input: Uint8Array, size: number): RawHeapSnapshot {
  const main = new HeapSnapshotParser({ edgesApart: true });
  for (let o = 0; o < input.length; o += size) main.push(input.subarray(o, o + size));
  if (main.edgesReached) {
    const side = new HeapSnapshotParser({ edgesOnly: true });
    for (let o = 0; o < input.length && !side.done; o += size) side.push(input.subarray(o, o + size));
    main.attachEdges(side.edges());
  }
  return main.finish();
}

function outcome(f: () => RawHeapSnapshot): RawHeapSnapshot | LeakscopeError {
  try {
    return f();
  } catch (e) {
    assert.ok(e instanceof LeakscopeError, `not a LeakscopeError: ${(e as Error)?.stack}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e;
  }
}

test('mutated and truncated snapshots: the two-thread split parses exactly what one parser does, or fails too', () => {
  let ok = 0;
  let failed = 0;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.boolean()), { minLength: 0, maxLength: 4 }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.constantFrom(4099, 65536, 1 << 20),
      (edits, cutAt, size) => {
        const b = base.slice();
        for (const [pos, v, jsonChar] of edits) b[pos % b.length] = jsonChar ? JSON_BYTES[v % JSON_BYTES.length]! : v;
        const input = cutAt === undefined ? b : b.subarray(0, cutAt % b.length);
        const one = outcome(() => {
          const p = new HeapSnapshotParser();
          for (let o = 0; o < input.length; o += size) p.push(input.subarray(o, o + size));
          return p.finish();
        });
        const two = outcome(() => splitParse(input, size));
        assert.equal(two instanceof LeakscopeError, one instanceof LeakscopeError, `one parser: ${one instanceof LeakscopeError ? one.message : 'ok'}; split: ${two instanceof LeakscopeError ? two.message : 'ok'}`);
        if (one instanceof LeakscopeError) failed++;
        else {
          assert.deepEqual(two, one);
          ok++;
        }
      },
    ),
    { numRuns: 200, seed: 20261128 },
  );
  assert.ok(ok >= 5 && failed >= 10, `both outcomes are exercised (${ok} parsed, ${failed} refused)`);
});

test('mutated and truncated snapshots: a result or a one-line LeakscopeError, in every mode', () => {
  let typed = 0;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.boolean()), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.constantFrom(...MODES),
      fc.constantFrom(4099, 65536, 1 << 20),
      (edits, cutAt, mode, size) => {
        const b = base.slice();
        for (const [pos, v, jsonChar] of edits) b[pos % b.length] = jsonChar ? JSON_BYTES[v % JSON_BYTES.length]! : v;
        const input = cutAt === undefined ? b : b.subarray(0, cutAt % b.length);
        try {
          const p = new HeapSnapshotParser(mode);
          for (let o = 0; o < input.length && !p.done; o += size) p.push(input.subarray(o, o + size));
          if ('horizonOnly' in mode) p.horizon();
          else p.finish();
        } catch (e) {
          assert.ok(e instanceof LeakscopeError, `not a LeakscopeError: ${(e as Error)?.stack}`);
          assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
          typed++;
        }
      },
    ),
    { numRuns: 400, seed: 20261128 },
  );
  assert.ok(typed > 50, `the mutations reach the error paths (${typed} errors in 400 runs)`);
});
