// Running a local program (argv, no shell) with a timeout: the only place the
// balancer starts processes. virsh and ssh are run through it, so tests inject
// a fake `Exec` and never start anything.
import { spawn } from 'node:child_process';

export interface ExecOptions {
  /** Kill the process (SIGTERM, then SIGKILL) after this long. */
  readonly timeoutMs?: number;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export type Exec = (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

export const execProcess: Exec = (argv, options = {}) =>
  new Promise((resolve) => {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('execProcess: empty argv');
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          }, options.timeoutMs);
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(error.message), timedOut });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, timedOut });
    });
  });
