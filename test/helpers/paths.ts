/** Where things are, seen from a compiled test in dist/test/…: the repo root and ../shared. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'src'))) return d;
    d = dirname(d);
  }
  throw new Error('repository root not found');
}

export const repoRoot = findRoot();
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const fixturesDir = join(sharedDir, 'fixtures');
export const hasFixtures = existsSync(join(fixturesDir, 'README.md'));
export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
export const SKIP_NO_FIXTURES = `../shared/fixtures not found at ${fixturesDir}: conformance fixtures skipped`;
