/** The CLI's output port: commands write through this, never to console directly. */
export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
}

export const processIO: CliIO = {
  stdout: (s) => {
    process.stdout.write(s);
  },
  stderr: (s) => {
    process.stderr.write(s);
  },
  isTTY: Boolean(process.stdout.isTTY),
};

/** A command takes its argv (after the command name) and returns an exit code. */
export type Command = (argv: string[], io: CliIO) => Promise<number>;

export interface CommandSpec {
  usage: string;
  run: Command;
}
