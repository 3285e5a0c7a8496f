// The one way hvmctl runs a local program: argv (never a shell line), output
// captured, an optional bound. Connectors (connector/local.ts,
// connector/system-ssh.ts), the balancer agent (virsh, ssh to its peers), the
// lab's plumbing (ip, mount, nsenter into a lab host) and the route guard all
// come here, so timeouts, stdin and exit codes mean the same everywhere:
//   code: the exit status; 128+N when signal N killed it; 124 when `timeoutMs`
//   ended it (`timedOut` too, with the output so far); 127 when it could not
//   start (not found), with the reason in stderr. Never throws for any of them.
// Three shapes: runProcess (async), runProcessSync (the lab's sequential
// set-up, which blocks on purpose) and runAttached (the caller's terminal, for
// `lab exec` and `lab ssh`).
//
// Why not zx (our design's model for this): every zx command is a shell line
// (`$` joins its pieces and runs them with `shell: true`, bash with `set -euo
// pipefail` when found), where ours are argv, and nsenter's argv in
// particular must reach the kernel as written; a zx timeout sends one signal,
// to the tree it finds by running `ps` (no SIGTERM-then-SIGKILL, no process
// group killed at once); and zx/core alone adds about 100 KB to the balancer
// agent's bundle (120 KB today) for the ~100 lines below.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { constants } from 'node:os';

export interface ProcessOptions {
  /** Written to standard input, then closed. Absent: stdin is /dev/null (runProcess) or an empty pipe (runProcessSync). */
  readonly input?: string | Buffer;
  /** End the process after this long (see `kill`); the result is code 124, timedOut. */
  readonly timeoutMs?: number;
  /** The environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * How a timeout ends it (runProcess only):
   * - 'process' (default): SIGTERM to the process, SIGKILL 2 s later if it is still there;
   * - 'group': the process runs in a process group of its own, which gets
   *   SIGKILL at once: its children die with it, and a Ctrl-C meant for
   *   hvmctl does not reach it (it finishes unless it times out).
   */
  readonly kill?: 'process' | 'group';
}

export interface ProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** The shape of runProcess, for code that takes it as a parameter (tests inject a fake). */
export type RunProcess = (argv: readonly string[], options?: ProcessOptions) => Promise<ProcessResult>;

/** Exit code 124 (as timeout(1)): the bound ended the process. */
export const TIMED_OUT = 124;
/** Exit code 127 (as the shell): the program could not be started. */
export const NOT_STARTED = 127;
/** SIGTERM to SIGKILL when a timed-out process ignores SIGTERM. */
const KILL_GRACE_MS = 2000;

export const runProcess: RunProcess = (argv, options = {}) =>
  new Promise((resolve) => {
    const [file, ...args] = split(argv);
    const group = options.kill === 'group';
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      detached: group,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const settle = (result: ProcessResult): void => {
      if (timer) clearTimeout(timer);
      if (!settled) resolve(result);
      settled = true;
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            if (group) killGroup(child.pid, () => child.kill('SIGKILL'));
            else {
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
            }
          }, options.timeoutMs);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
    // 'error': the program could not be started (or, rarer, not signalled)
    child.on('error', (error) => settle({ code: NOT_STARTED, stdout: text(out), stderr: text(err) + notStarted(file, error), timedOut }));
    child.on('close', (code, signal) => settle({ code: timedOut ? TIMED_OUT : exitCode(code, signal), stdout: text(out), stderr: text(err), timedOut }));
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the program may exit without reading its input
      child.stdin.end(options.input);
    }
  });

/** runProcess, blocking: for the lab's set-up, which runs one step after another. A timeout sends SIGTERM. */
export function runProcessSync(argv: readonly string[], options: Omit<ProcessOptions, 'kill'> = {}): ProcessResult {
  const [file, ...args] = split(argv);
  const r: SpawnSyncReturns<string> = spawnSync(file, args, {
    encoding: 'utf8',
    input: options.input,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    env: options.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  const errno = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ETIMEDOUT') return { code: TIMED_OUT, stdout, stderr, timedOut: true };
  if (r.error && r.pid === 0) return { code: NOT_STARTED, stdout, stderr: stderr + notStarted(file, r.error), timedOut: false };
  return { code: exitCode(r.status, r.signal), stdout, stderr, timedOut: false };
}

/**
 * Runs argv on the caller's terminal (stdin, stdout and stderr inherited) and
 * resolves with its exit code (128+N when signal N killed it). A program that
 * cannot be started rejects, as the CLI then prints why.
 */
export function runAttached(argv: readonly string[], options: Pick<ProcessOptions, 'env'> = {}): Promise<number> {
  const [file, ...args] = split(argv);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env: options.env ?? process.env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(exitCode(code, signal)));
  });
}

/** The exit status, or 128+N for a process that signal N killed (as a shell reports it). */
export function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

function split(argv: readonly string[]): [string, ...string[]] {
  const [file, ...args] = argv;
  if (file === undefined || file === '') throw new Error('runProcess: empty argv');
  return [file, ...args];
}

function notStarted(file: string, error: Error): string {
  return (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${file}: not found\n` : `${file}: ${error.message}\n`;
}

function killGroup(pid: number | undefined, fallback: () => void): void {
  try {
    if (pid === undefined) throw new Error('no pid');
    process.kill(-pid, 'SIGKILL');
  } catch {
    fallback();
  }
}
