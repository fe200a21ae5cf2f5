/**
 * The command table. Each command lives in its own file under commands/; add one line here.
 */
import type { CommandSpec } from './io.js';
import { infoCommand } from './commands/info.js';
import { topCommand } from './commands/top.js';
import { listCommand } from './commands/list.js';
import { peekCommand } from './commands/peek.js';
import { tracesCommand } from './commands/traces.js';
import { treeCommand } from './commands/tree.js';
import { diffCommand } from './commands/diff.js';
import { mergeCommand } from './commands/merge.js';
import { convertCommand } from './commands/convert.js';
import { snapshotCommand } from './commands/snapshot.js';
import { watchCommand } from './commands/watch.js';
import { analyzeCommand } from './commands/analyze.js';

export const commands: Record<string, CommandSpec> = {
  top: topCommand,
  list: listCommand,
  peek: peekCommand,
  traces: tracesCommand,
  tree: treeCommand,
  diff: diffCommand,
  merge: mergeCommand,
  info: infoCommand,
  convert: convertCommand,
  snapshot: snapshotCommand,
  watch: watchCommand,
  analyze: analyzeCommand,
};
