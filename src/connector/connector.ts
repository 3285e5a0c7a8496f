// A connector is the only code that touches a host. Everything else builds
// plain commands (strings made with `sh`, see src/shell.ts) and hands them here.
// Implementations: ssh.ts (ssh2, one connection per host, reused; opened by
// the one factory, connect.ts), system-ssh.ts (the system's ssh, one per
// command: the balancer agent to its peers), local.ts (`sh -c` here, for code
// that runs on the host itself, e.g. the balancer) — the last two through the
// one local runner, src/process.ts — and test/support/fake-connector.ts
// (records commands, replays answers).

export interface RunOptions {
  /** Bytes written to the command's standard input, then closed. */
  readonly input?: string | Buffer;
  /** Kill the command and fail after this long. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The command was killed by `timeoutMs` (code 124, output so far). */
  readonly timedOut?: boolean;
}

export interface Connector {
  /** Inventory name of the host, used in messages. */
  readonly host: string;
  /** Runs one shell command (`sh -c`), never throws for a non-zero exit: look at `code`. */
  run(command: string, options?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
}
