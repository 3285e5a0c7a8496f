// The connector for code that runs on the host itself (the balancer's cron
// job, tests): each `run` is `sh -c COMMAND` through child_process, with the
// same contract as the SSH connector (never throws for a non-zero exit).
import { spawn } from 'node:child_process';
import type { Connector, RunOptions, RunResult } from './connector.ts';

export class LocalConnector implements Connector {
  constructor(readonly host: string = 'localhost') {}

  run(command: string, options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      // Own process group: a timeout kills the command and its children, and a
      // Ctrl-C meant for hvmctl does not kill the running command (it finishes).
      const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              try {
                if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
              } catch {
                child.kill('SIGKILL');
              }
            }, options.timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (error) => {
        if (timer) clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        const stderr = Buffer.concat(err).toString('utf8');
        resolve({
          code: timedOut ? 124 : (code ?? (signal ? 128 + (signalNumber[signal] ?? 0) : 1)),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: timedOut ? `${stderr}hvmctl: timed out after ${options.timeoutMs} ms\n` : stderr,
          ...(timedOut ? { timedOut } : {}),
        });
      });
      child.stdin.on('error', () => undefined); // the command may exit without reading its input
      child.stdin.end(options.input ?? '');
    });
  }

  async close(): Promise<void> {}
}

const signalNumber: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
