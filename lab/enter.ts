// Running a command inside a lab host: join the host's cgroups (so its CPU
// time counts for that host), then nsenter its mount, UTS, network and PID
// namespaces and its root (the overlay chroot), with a clean environment.
import { spawn, spawnSync } from 'node:child_process';
import type { RunResult } from '../src/connector/connector.ts';
import type { LabHostState } from './state.ts';

const JOIN_CGROUPS = 'for g in "$@"; do case $g in --) shift; break;; esac; echo $$ >"$g/cgroup.procs" || exit 125; shift; done; exec "$@"';

export function enterArgv(host: LabHostState, command: readonly string[], env: NodeJS.ProcessEnv = {}): string[] {
  const term = env.TERM ?? 'dumb';
  return [
    '/bin/sh',
    '-c',
    JOIN_CGROUPS,
    'hvmlab-enter',
    ...host.cgroups,
    '--',
    'nsenter',
    '-t',
    String(host.initPid),
    '-m',
    '-u',
    '-n',
    '-p',
    '--root',
    '--wd',
    '/usr/bin/env',
    '-i',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOME=/root',
    'USER=root',
    'LOGNAME=root',
    'LANG=C.UTF-8',
    `TERM=${term}`,
    ...command,
  ];
}

/** Runs `script` with sh -c in the host and captures its output. */
export function runInHost(host: LabHostState, script: string, options: { input?: string; timeoutMs?: number } = {}): RunResult {
  const [file, ...args] = enterArgv(host, ['/bin/sh', '-c', script]);
  const r = spawnSync(file!, args, {
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? 137, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs argv in the host with the caller's stdio; resolves with its exit code. */
export function execInHost(host: LabHostState, command: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = enterArgv(host, command, env);
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
}
