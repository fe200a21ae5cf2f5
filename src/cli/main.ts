#!/usr/bin/env node
/**
 * leakscope's entry point: dispatch to one file per command, turn errors into one line and an
 * exit code (1 for failures, 2 for usage errors). No stack traces unless LEAKSCOPE_DEBUG=1.
 */
import module from 'node:module';
// Node 22.1+: keep V8's compiled code of leakscope's modules on disk (in the OS temp directory)
// so that later runs skip compiling them; a short command spends a good part of its time there.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
import { existsSync } from 'node:fs';
import { isLeakscopeError } from '../core/errors.js';
import { isUrl } from '../node/url.js';
import { keepYoungGenerationSmall } from '../node/young-gen.js';
import { processIO, type CliIO } from './io.js';
import { commands } from './registry.js';

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`leakscope ${VERSION}\n`);
    return 0;
  }
  let entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  // `leakscope <profile|url>...` (pprof's flags before them too): the interactive shell, as go tool pprof
  if (!entry && (name.startsWith('-') || isUrl(name) || existsSync(name) || /^[\w.-]+:\d+\//.test(name))) {
    entry = commands.shell;
    argv = ['shell', ...argv];
    [name, ...rest] = argv;
  }
  if (!entry) {
    io.stderr(`leakscope: unknown command "${name}" (run "leakscope help" for the list)\n`);
    return 2;
  }
  const spec = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${spec.usage.trimEnd()}\n`);
    return 0;
  }
  try {
    return await spec.run(rest, io);
  } catch (e) {
    if (isLeakscopeError(e)) {
      io.stderr(`leakscope ${name}: ${e.message}\n`);
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    const err = e as Error;
    if (process.env.LEAKSCOPE_DEBUG) io.stderr(`${err.stack}\n`);
    io.stderr(`leakscope ${name}: internal error: ${err?.message ?? String(e)}\n`);
    return 1;
  }
}

const VERSION = '0.1.0';

function usage(): string {
  const lines = ['usage: leakscope <command> [flags] <source>...', '       leakscope [flags] <profile|url>...   (the interactive shell, as go tool pprof)', '', 'commands:'];
  for (const [n, entry] of Object.entries(commands)) lines.push(`  ${n.padEnd(10)} ${entry.summary}`);
  lines.push('', 'Run "leakscope <command> --help" for its flags.');
  return lines.join('\n') + '\n';
}

/**
 * Commands that read profiles, print one report and exit: they run with V8's new space kept at
 * its start-up size (node/young-gen.ts; growth comes back for inputs of 8 MB and more). Servers,
 * watchers, the shell and heap-snapshot parsing keep V8's defaults.
 */
const ONE_SHOT_REPORTS = new Set(['top', 'list', 'peek', 'traces', 'tree', 'tags', 'graph', 'diff', 'merge', 'info', 'convert']);

// Run when executed directly (bin or `node dist/src/cli/main.js`).
const invokedDirectly = process.argv[1] && /(?:^|[\\/])(?:main\.js|leakscope)$/.test(process.argv[1]);
if (invokedDirectly) {
  if (ONE_SHOT_REPORTS.has(process.argv[2] ?? '')) keepYoungGenerationSmall();
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Tearing down the heap and the analysis' arrays costs more than the work does on small
      // inputs: leave at once when everything has been written (writes to files and pipes are
      // synchronous on Linux; anything still queued is left to drain normally).
      if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
    },
    (e) => {
      process.stderr.write(`leakscope: internal error: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
