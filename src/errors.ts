// Every error hvmctl knows about shares this base: a stable `code`, a message
// that says what went wrong, a `hint` that says what to do, the process exit
// code the CLI should use, and the `cause` it wraps. The CLI prints message and
// hint for these and a stack trace only for errors it does not know.

export interface HvmErrorOptions {
  readonly hint?: string;
  readonly exitCode?: number;
  readonly cause?: unknown;
}

export class HvmError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: HvmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Wrong flags or arguments on the command line (exit code 64, EX_USAGE). */
export class UsageError extends HvmError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, { hint: hint ?? 'run with --help to see the usage', exitCode: 64 });
  }
}

/** A remote or local command that exited non-zero. Keeps what it printed. */
export class CommandError extends HvmError {
  readonly host: string;
  readonly command: string;
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(host: string, command: string, status: number, stdout: string, stderr: string, hint?: string) {
    const detail = stderr.trim().split('\n').slice(-3).join(' | ') || stdout.trim().split('\n').slice(-3).join(' | ');
    super('E_COMMAND', `${host}: command exited ${status}: ${summarizeCommand(command)}${detail ? ` (${detail})` : ''}`, {
      hint,
    });
    this.host = host;
    this.command = command;
    this.status = status;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** Output from a host that a parser could not make sense of. */
export class ParseError extends HvmError {
  constructor(what: string, message: string, hint?: string) {
    super('E_PARSE', `cannot parse ${what}: ${message}`, { hint });
  }
}

/** A host that could not be reached or authenticated against. */
export class ConnectError extends HvmError {
  readonly host: string;
  constructor(host: string, message: string, options: HvmErrorOptions = {}) {
    super('E_CONNECT', `${host}: ${message}`, options);
    this.host = host;
  }
}

/** A remote step got no answer within its bound (--timeout, or the host's `timeout`). */
export class StepTimeoutError extends HvmError {
  readonly host: string;
  readonly step: string;
  readonly seconds: number;
  constructor(host: string, step: string, seconds: number, options: HvmErrorOptions = {}) {
    super('E_TIMEOUT', `${host}: no answer within ${seconds} s: ${step}`, {
      hint:
        options.hint ??
        "something hangs on the host (a hard NFS mount, a hung libvirtd, a held dpkg lock?): look at it there; if the host is only slow, raise the bound with --timeout SECONDS or the host's `timeout:` in the inventory",
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.host = host;
    this.step = step;
    this.seconds = seconds;
  }
}

export function summarizeCommand(command: string, max = 120): string {
  const oneLine = command.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** Pure formatter used by the CLI: message, then hint, for a known error. */
export function formatError(error: unknown): string {
  if (error instanceof HvmError) {
    return error.hint ? `error: ${error.message}\nhint: ${error.hint}` : `error: ${error.message}`;
  }
  if (error instanceof Error) return `internal error: ${error.stack ?? error.message}`;
  return `internal error: ${String(error)}`;
}
