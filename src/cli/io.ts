/** The CLI's output port: commands write through this, never to console directly. */
import { encodeByteString, hasEscapedBytes } from '../formats/byte-strings.js';

export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
}

export const processIO: CliIO = {
  // a profile's non-UTF-8 bytes (kept escaped, see formats/byte-strings.ts) are written as themselves
  stdout: (s) => {
    process.stdout.write(hasEscapedBytes(s) ? encodeByteString(s) : s);
  },
  stderr: (s) => {
    process.stderr.write(hasEscapedBytes(s) ? encodeByteString(s) : s);
  },
  isTTY: Boolean(process.stdout.isTTY),
};

/** A command takes its argv (after the command name) and returns an exit code. */
export type Command = (argv: string[], io: CliIO) => Promise<number>;

export interface CommandSpec {
  usage: string;
  run: Command;
}
