/**
 * The shell's runner thread: holds the profiles the shell loaded (a structured clone, answered by
 * loadProfile from memory) and runs one leakscope command at a time on them, through the same
 * CommandSpec the CLI runs, sending its output back to the shell. The shell cancels a command
 * (Ctrl-C) by terminating this thread and starting a fresh one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isLeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { usePreloadedProfiles } from '../node/source.js';
import type { CliIO } from './io.js';
import { commands } from './registry.js';

export interface ShellWorkerData {
  profiles: Map<string, Profile>;
  isTTY: boolean;
}

/** shell → runner */
export interface RunMessage {
  argv: string[];
}

/** runner → shell */
export type RunnerMessage = { t: 'out'; s: string } | { t: 'err'; s: string } | { t: 'done'; code: number };

const data = workerData as ShellWorkerData;
usePreloadedProfiles(data.profiles);
const port = parentPort!;
const post = (m: RunnerMessage) => port.postMessage(m);
const io: CliIO = { stdout: (s) => post({ t: 'out', s }), stderr: (s) => post({ t: 'err', s }), isTTY: data.isTTY };

port.on('message', (m: RunMessage) => {
  void run(m.argv).then((code) => post({ t: 'done', code }));
});

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const entry = name !== undefined && Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) {
    io.stderr(`unknown command "${name}"\n`);
    return 2;
  }
  try {
    return await (await entry.load()).run(rest, io);
  } catch (e) {
    if (isLeakscopeError(e)) {
      io.stderr(`${e.message}\n`);
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    io.stderr(`internal error: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}
