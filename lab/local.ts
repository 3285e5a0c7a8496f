// Runs a local program (argv, no shell) for the lab's own plumbing in the
// root namespace: ip, mount, kill. The lab is a local tool, so this is its
// connector; nothing here touches a remote host. The lab's set-up runs one
// step after another, so these block: the one local runner's sync form
// (src/process.ts), bounded at 60 s unless a step says otherwise.
import { CommandError } from '../src/errors.ts';
import type { RunResult } from '../src/connector/connector.ts';
import { runProcessSync } from '../src/process.ts';

export interface LocalOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export function runLocal(argv: readonly string[], options: LocalOptions = {}): RunResult {
  const r = runProcessSync(argv, { ...options, timeoutMs: options.timeoutMs ?? 60_000 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Like runLocal, but a non-zero exit throws a CommandError. Returns stdout. */
export function mustLocal(argv: readonly string[], options: LocalOptions & { hint?: string } = {}): string {
  const r = runLocal(argv, options);
  if (r.code !== 0) throw new CommandError('lab', argv.join(' '), r.code, r.stdout, r.stderr, options.hint);
  return r.stdout;
}
