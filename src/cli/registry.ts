/**
 * The command table: a one-line summary per command and how to load it. A command's module (and
 * everything it imports) loads only when that command runs, so `leakscope snapshot …` does not pay
 * for the pprof renderers or `watch`. Each command lives in its own file under commands/; add one
 * entry here.
 */
import type { CommandSpec } from './io.js';

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandSpec>;
}

export const commands: Record<string, CommandEntry> = {
  top: { summary: 'the functions (or lines, files) with the most flat or cum value, like go tool pprof -top', load: async () => (await import('./commands/top.js')).topCommand },
  list: { summary: 'flat and cum per source line of the functions matching a regex (go tool pprof list)', load: async () => (await import('./commands/list.js')).listCommand },
  peek: { summary: 'callers and callees of the functions matching a regex (go tool pprof peek)', load: async () => (await import('./commands/peek.js')).peekCommand },
  traces: { summary: 'every sample with its labels and full stack (go tool pprof -traces)', load: async () => (await import('./commands/traces.js')).tracesCommand },
  tree: { summary: 'callers and callees of every node (go tool pprof -tree)', load: async () => (await import('./commands/tree.js')).treeCommand },
  tags: { summary: 'label keys and values with their share of the value (go tool pprof -tags)', load: async () => (await import('./commands/tags.js')).tagsCommand },
  graph: { summary: 'the call graph as DOT text or SVG (go tool pprof -dot / -svg)', load: async () => (await import('./commands/graph.js')).graphCommand },
  web: { summary: 'the flame graph and top table in a browser (go tool pprof -http); --export writes one HTML file', load: async () => (await import('./commands/web.js')).webCommand },
  diff: { summary: 'what grew or shrank between two profiles (top of new minus base)', load: async () => (await import('./commands/diff.js')).diffCommand },
  merge: { summary: 'merge profiles into one gzip-compressed pprof file', load: async () => (await import('./commands/merge.js')).mergeCommand },
  info: { summary: 'sample types, period, time, duration and counts of a profile', load: async () => (await import('./commands/info.js')).infoCommand },
  convert: { summary: 'convert profiles to collapsed stacks, speedscope JSON or gzip\'d pprof', load: async () => (await import('./commands/convert.js')).convertCommand },
  snapshot: { summary: 'V8 heap snapshots: summary, diff, retainers, leaks across a series', load: async () => (await import('./commands/snapshot.js')).snapshotCommand },
  watch: { summary: 'poll a service\'s heap/goroutine/async profiles over time and name the leak', load: async () => (await import('./commands/watch.js')).watchCommand },
  soak: { summary: 'start or reach a service, load it in rounds, watch it: one leak verdict and a regression gate', load: async () => (await import('./commands/soak.js')).soakCommand },
  analyze: { summary: 'the leak report of a watch run directory or a series of profiles, offline', load: async () => (await import('./commands/analyze.js')).analyzeCommand },
  shell: { summary: 'go tool pprof\'s interactive shell on a profile loaded once (also: leakscope <profile|url>...)', load: async () => (await import('./commands/shell.js')).shellCommand },
};
