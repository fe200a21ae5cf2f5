/**
 * The CLI's young-generation policy (src/node/young-gen.ts), in child processes so that the test
 * runner's own heap is left alone: once narrowed, V8's new space stays at its start-up size
 * however much survives; a large input (or never narrowing) lets it grow as V8 does by default.
 * Sizes are compared between runs, not timed, so load on the machine does not matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './helpers/paths.js';

const mod = pathToFileURL(join(repoRoot, 'dist', 'src', 'node', 'young-gen.js')).href;

/** New-space size (MB) after allocating ~40 MB of objects that all survive, in a fresh process. */
function newSpaceAfter(steps: string): number {
  const script = `
    import v8 from 'node:v8';
    import * as yg from ${JSON.stringify(mod)};
    ${steps}
    const keep = [];
    for (let i = 0; i < 400000; i++) keep.push({ a: i, b: String(i), c: [i] });
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(ns.space_size / 1048576) + ' ' + keep.length);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.split(' ')[0]);
}

test('narrowed, the new space stays at its start-up size; V8 default and large inputs let it grow', () => {
  const narrowed = newSpaceAfter('yg.keepYoungGenerationSmall();');
  const untouched = newSpaceAfter('');
  const small = newSpaceAfter('yg.keepYoungGenerationSmall(); yg.noteInputSize(yg.GROWTH_FROM_BYTES - 1);');
  const large = newSpaceAfter('yg.keepYoungGenerationSmall(); yg.noteInputSize(yg.GROWTH_FROM_BYTES);');
  const notNarrowed = newSpaceAfter('yg.noteInputSize(yg.GROWTH_FROM_BYTES);');
  assert.ok(narrowed <= 8, `narrowed new space ${narrowed} MB`);
  assert.ok(untouched >= 4 * narrowed, `default new space ${untouched} MB vs narrowed ${narrowed} MB`);
  assert.ok(small <= 8, `after an input below the bound: ${small} MB`);
  assert.ok(large >= 4 * narrowed, `after a large input: ${large} MB`);
  assert.ok(notNarrowed >= 4 * narrowed, `noteInputSize alone (a library user, the agent) changes nothing: ${notNarrowed} MB`);
});
