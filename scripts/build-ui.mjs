#!/usr/bin/env node
// Builds the web UI (src/ui) into dist/src/ui: type-checks it with its own tsconfig (DOM library),
// bundles src/ui/main.ts with esbuild into one script, and copies the page and its styles. The
// server (`leakscope web`) inlines all three into every page, so the UI needs no network.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'src', 'ui');
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'src', 'ui', 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'ui', 'main.ts')],
  bundle: true,
  format: 'iife',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
copyFileSync(join(root, 'src', 'ui', 'index.html'), join(out, 'index.html'));
// the page's styles, the heap-over-time and snapshot views' (views.css), and uPlot's (its charts)
const css = [join(root, 'src', 'ui', 'style.css'), join(root, 'src', 'ui', 'views.css'), join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css')];
writeFileSync(join(out, 'style.css'), css.map((f) => readFileSync(f, 'utf8')).join('\n'));
