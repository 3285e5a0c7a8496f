// Running a command inside a lab host, as its console would: join the host's
// cgroups (so the command's CPU and memory count for that host), then enter
// every namespace of the host's current init (mount, UTS, IPC, network, PID,
// cgroup) and its root, with a clean environment. The init is looked up at
// every call: a reboot gives the host a new one. All three ways in run
// enterArgv() through the one local runner (src/process.ts).
import type { RunResult } from '../src/connector/connector.ts';
import { runAttached, runProcess, runProcessSync } from '../src/process.ts';
import { initPid } from './host-process.ts';
import { LabError } from './lab-error.ts';
import type { LabHostState, LabState } from './lab-record.ts';
import { accountingHierarchies, hostCgroups } from './topology.ts';

const JOIN_CGROUPS = 'for g in "$@"; do case $g in --) shift; break;; esac; echo $$ >"$g/cgroup.procs" || exit 125; shift; done; exec "$@"';

/** Where a command for a host goes: its init, and the cgroups to join. */
export interface HostEntry {
  readonly name: string;
  readonly initPid: number;
  readonly cgroups: readonly string[];
}

/** The host's current init and cgroups; throws while the host is down (rebooting, powered off). */
export function hostEntry(state: Pick<LabState, 'hierarchies'>, host: LabHostState): HostEntry {
  const pid = initPid(host);
  if (pid === undefined) {
    throw new LabError('E_LAB_HOST_DOWN', `${host.name} is not running (no init: powered off or between boots)`, {
      hint: `see ${host.dir}/console.log; \`hvmctl lab status\` shows every host`,
    });
  }
  return { name: host.name, initPid: pid, cgroups: hostCgroups(accountingHierarchies(state.hierarchies), host.name) };
}

export function enterArgv(entry: HostEntry, command: readonly string[], env: NodeJS.ProcessEnv = {}): string[] {
  const term = env.TERM ?? 'dumb';
  return [
    '/bin/sh',
    '-c',
    JOIN_CGROUPS,
    'hvmlab-enter',
    ...entry.cgroups,
    '--',
    'nsenter',
    '-t',
    String(entry.initPid),
    '-m',
    '-u',
    '-i',
    '-n',
    '-p',
    '-C',
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

/** Runs `script` with sh -c in the host and captures its output (blocking; a timeout, default 60 s, sends SIGTERM: code 124). */
export function runInHost(entry: HostEntry, script: string, options: { input?: string; timeoutMs?: number } = {}): RunResult {
  const r = runProcessSync(enterArgv(entry, ['/bin/sh', '-c', script]), {
    ...(options.input === undefined ? {} : { input: options.input }),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** runInHost without blocking: hosts are asked side by side (readiness, status). A timeout sends SIGTERM, then SIGKILL. */
export async function runInHostAsync(entry: HostEntry, script: string, options: { timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await runProcess(enterArgv(entry, ['/bin/sh', '-c', script]), { timeoutMs: options.timeoutMs ?? 60_000 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Runs argv in the host with the caller's stdio; resolves with its exit code. */
export function execInHost(entry: HostEntry, command: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runAttached(enterArgv(entry, command, env));
}
