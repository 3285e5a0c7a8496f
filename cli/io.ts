// What a command may do to the outside world, injected so tests can capture it.
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (colour, progress lines). */
  readonly tty: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export function defaultIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    tty: Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined,
    env: process.env,
    cwd: process.cwd(),
  };
}
