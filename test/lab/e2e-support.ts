// Small helpers for the end-to-end tests: they drive hvmctl exactly as a user
// does, through its CLI (`node bin/hvmctl.js ...`), and look inside the lab's
// hosts with `hvmctl lab exec`. No mocks.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repo, 'bin/hvmctl.js');

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Why the lab tests cannot run here, or undefined when they can. */
export function labSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'lab tests need root';
  if (!existsSync('/dev/kvm')) return 'lab tests need /dev/kvm';
  return undefined;
}

export function hvmctl(args: readonly string[], options: { timeoutMs?: number } = {}): Ran {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 240_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs a shell command inside one lab host (its namespaces and file system). */
export function inHost(host: string, script: string, options: { timeoutMs?: number } = {}): Ran {
  return hvmctl(['lab', 'exec', host, '--', 'sh', '-c', script], options);
}

/** Like inHost, but the command must succeed. */
export function mustInHost(host: string, script: string): string {
  const r = inHost(host, script);
  if (r.code !== 0) throw new Error(`${host}: '${script}' exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Starts hvmctl in the background (for the SIGKILL test). */
export function hvmctlChild(args: readonly string[]) {
  return spawn(process.execPath, [bin, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: '1' } });
}

export function json<T = unknown>(ran: Ran): T {
  try {
    return JSON.parse(ran.stdout) as T;
  } catch (error) {
    throw new Error(`not JSON (exit ${ran.code}): ${ran.stdout.slice(0, 500)}\n${ran.stderr.slice(0, 2000)}`, {
      cause: error,
    });
  }
}
