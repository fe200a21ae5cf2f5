#!/usr/bin/env node
// `npm pack` hooks. The clone's package.json carries a `prepare` script (so `npm install` in a
// clone builds dist/) and the test-only devDependencies; a user who installs the packed tarball
// needs neither, and npm warns about any install-time script of a dependency. So `prepack`
// (`strip`) writes the manifest a user installs — no scripts, no devDependencies — and keeps the
// clone's own in package.json.pack-backup; `postpack` (`restore`) puts it back. A backup left by an
// interrupted pack is restored first.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const BACKUP = 'package.json.pack-backup';
const mode = process.argv[2];
if (mode === 'strip') {
  if (existsSync(BACKUP)) renameSync(BACKUP, 'package.json');
  const text = readFileSync('package.json', 'utf8');
  writeFileSync(BACKUP, text);
  const pkg = JSON.parse(text);
  delete pkg.scripts;
  delete pkg.devDependencies;
  writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
} else if (mode === 'restore') {
  if (existsSync(BACKUP)) renameSync(BACKUP, 'package.json');
} else {
  console.error('usage: pack-manifest.mjs strip|restore');
  process.exit(2);
}
