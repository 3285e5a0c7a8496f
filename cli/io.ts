// What a command may do to the outside world, injected so tests can capture it.
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (colour, progress lines). */
  readonly tty: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/**
 * Lines to a stream that may be closed by its reader (`hvmctl … | head`):
 * once it is (EPIPE), further output is dropped and the command goes on to
 * its end and its exit code. Node ignores SIGPIPE, so without this the first
 * write after the close threw an unhandled 'error' with a stack trace; and an
 * apply must never stop half-way because nobody reads its output.
 */
export function lineWriter(stream: NodeJS.WritableStream): (text: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  return (text) => {
    if (!closed) stream.write(text.endsWith('\n') ? text : `${text}\n`);
  };
}

export function defaultIo(): CliIo {
  return {
    out: lineWriter(process.stdout),
    err: lineWriter(process.stderr),
    tty: Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined,
    env: process.env,
    cwd: process.cwd(),
  };
}
