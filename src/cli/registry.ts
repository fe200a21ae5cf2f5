/**
 * The command table. Each command lives in its own file under commands/; add one line here.
 */
import type { CommandSpec } from './io.js';
import { infoCommand } from './commands/info.js';
import { topCommand } from './commands/top.js';
import { convertCommand } from './commands/convert.js';

export const commands: Record<string, CommandSpec> = {
  top: topCommand,
  info: infoCommand,
  convert: convertCommand,
};
