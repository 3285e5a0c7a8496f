// The connector for code that runs on the host itself (the balancer agent on
// its own hypervisor, tests): each `run` is `sh -c COMMAND` through the one
// local runner (src/process.ts), with the same contract as the SSH connector
// (never throws for a non-zero exit). The command runs in a process group of
// its own: a timeout kills it and its children, and a Ctrl-C meant for hvmctl
// does not kill the running command (it finishes).
import { runProcess, type ProcessResult, type RunProcess } from '../process.ts';
import type { Connector, RunOptions, RunResult } from './connector.ts';

export class LocalConnector implements Connector {
  constructor(
    readonly host: string = 'localhost',
    private readonly run_: RunProcess = runProcess,
  ) {}

  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    const r = await this.run_(['sh', '-c', command], {
      input: options.input ?? '',
      kill: 'group',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    return connectorResult(r, options.timeoutMs);
  }

  async close(): Promise<void> {}
}

/** A process's result as a connector reports it: a timeout says so in stderr, `timedOut` only when true. */
export function connectorResult(r: ProcessResult, timeoutMs: number | undefined): RunResult {
  if (!r.timedOut) return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  return { code: r.code, stdout: r.stdout, stderr: `${r.stderr}hvmctl: timed out after ${timeoutMs} ms\n`, timedOut: true };
}
