// Runs a local program (argv, no shell) for the lab's own plumbing in the
// root namespace: ip, mount, kill. The lab is a local tool, so this is its
// connector; nothing here touches a remote host.
import { spawnSync } from 'node:child_process';
import { CommandError } from '../src/errors.ts';
import type { RunResult } from '../src/connector/connector.ts';

export interface LocalOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export function runLocal(argv: readonly string[], options: LocalOptions = {}): RunResult {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('runLocal: empty argv');
  const r = spawnSync(file, args, {
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeoutMs ?? 60_000,
    env: options.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    return { code: 127, stdout: '', stderr: `${file}: not found` };
  }
  return { code: r.status ?? 128 + 9, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Like runLocal, but a non-zero exit throws a CommandError. Returns stdout. */
export function mustLocal(argv: readonly string[], options: LocalOptions & { hint?: string } = {}): string {
  const r = runLocal(argv, options);
  if (r.code !== 0) throw new CommandError('lab', argv.join(' '), r.code, r.stdout, r.stderr, options.hint);
  return r.stdout;
}
