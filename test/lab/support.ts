// Helpers for the lab's end-to-end tests (and any test that needs the lab):
// whether the lab can run here, the hvmctl CLI as a user runs it, commands
// inside a lab host, and ssh to a host through the route guard. No mocks.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertLabRoute } from '../../src/connector/route-guard.ts';
import { readLabState } from '../../lab/lab-record.ts';
import type { LabState } from '../../lab/lab-record.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/hvmctl.js');

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Why the lab cannot run on this machine, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'the lab needs Linux';
  if (process.getuid?.() !== 0) return 'the lab needs root';
  if (!existsSync('/dev/kvm')) return 'the lab needs /dev/kvm';
  return undefined;
}

export function labAvailable(): boolean {
  return labUnavailableReason() === undefined;
}

/** Runs `node bin/hvmctl.js ARGS` from the repository root. */
export function runHvmctl(args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Ran {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeoutMs ?? 240_000,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs a shell script inside a lab host (`hvmctl lab exec HOST -- sh -c SCRIPT`). */
export function labExec(host: string, script: string, options: { timeoutMs?: number } = {}): Ran {
  return runHvmctl(['lab', 'exec', host, '--', 'sh', '-c', script], options);
}

/** Like labExec, but the script must succeed; returns its stdout. */
export function mustLabExec(host: string, script: string): string {
  const r = labExec(host, script);
  if (r.code !== 0) throw new Error(`${host}: '${script}' exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The running lab's state (hosts, pids, addresses); throws when none is up. */
export function labState(): LabState {
  const state = readLabState();
  if (!state) throw new Error('no lab is up');
  return state;
}

/**
 * ssh to a lab host from the root namespace as the operator, with the pinned
 * known_hosts and StrictHostKeyChecking=yes, after the route guard.
 */
export function labSsh(host: string, command: string, options: { timeoutMs?: number } = {}): Ran {
  const state = labState();
  const h = state.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no lab host ${host}`);
  assertLabRoute(h.address);
  const r = spawnSync(
    'ssh',
    ['-i', state.identity, '-o', `UserKnownHostsFile=${state.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=5', `root@${h.address}`, command],
    { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 },
  );
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** CPU time (ns) a lab host has used so far, from its cpuacct cgroup (read from outside). */
export function hostCpuNs(host: string): number {
  const h = labState().hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no lab host ${host}`);
  return Number(readFileSync(`${h.cpuacct}/cpuacct.usage`, 'utf8').trim());
}

/** Starts `node bin/hvmctl.js ARGS` in the background (e.g. to kill it mid-run). */
export function spawnHvmctl(args: readonly string[]) {
  return spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } });
}

/** The JSON document a `--json` command printed, or an error that shows what it printed instead. */
export function parseJsonOutput<T = unknown>(ran: Ran): T {
  try {
    return JSON.parse(ran.stdout) as T;
  } catch (error) {
    throw new Error(`not JSON (exit ${ran.code}): ${ran.stdout.slice(0, 500)}\n${ran.stderr.slice(0, 2000)}`, { cause: error });
  }
}

/** Polls `check` until it holds or `timeoutMs` passes (a bounded wait for a state, never a fixed sleep). */
export async function eventually(check: () => boolean, timeoutMs: number, intervalMs = 1000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const labHypervisors = ['kvmnode1', 'kvmnode2', 'kvmnode3'] as const;
export const labGuests = ['server1', 'server2', 'server3'] as const;

/** The command succeeded; otherwise an error with what it printed. */
export function ok(r: Ran): Ran {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}\n${r.stdout}`);
  return r;
}

/** Hosts running each guest, from libvirt on every hypervisor (a host that does not answer counts as running none). */
export function placement(guests: readonly string[] = labGuests): Record<string, string[]> {
  const out: Record<string, string[]> = Object.fromEntries(guests.map((g) => [g, []]));
  for (const h of labHypervisors) {
    const r = labExec(h, 'virsh -c qemu:///system list --name');
    if (r.code !== 0) continue;
    for (const name of r.stdout.split('\n').map((l) => l.trim())) out[name]?.push(h);
  }
  return out;
}

/** Live-migrates each guest, by hand with virsh, to the hypervisor `want` names for it (each must run exactly once). */
export function placeGuests(want: Readonly<Record<string, string>>): void {
  const now = placement(Object.keys(want));
  for (const [vm, to] of Object.entries(want)) {
    const on = now[vm] ?? [];
    if (on.length !== 1) throw new Error(`${vm} runs on ${on.length} hypervisors (${on.join(', ')}), not one`);
    if (on[0] === to) continue;
    const r = labExec(on[0]!, `virsh -c qemu:///system migrate --live --persistent --undefinesource ${vm} qemu+ssh://root@${to}.localdomain/system`, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${vm} ${on[0]} -> ${to}: ${r.stderr}`);
  }
}

/** Every copy of `vm` libvirt knows on each hypervisor, with its state (1 running, 3 paused, 5 off) and reason. */
export function copiesOf(vm: string): { host: string; state: number; reason: number }[] {
  const out: { host: string; state: number; reason: number }[] = [];
  for (const h of labHypervisors) {
    const r = labExec(h, `virsh -c qemu:///system domstats --state ${vm} 2>/dev/null || true`);
    const state = /state\.state=(\d+)/.exec(r.stdout);
    const reason = /state\.reason=(\d+)/.exec(r.stdout);
    if (state) out.push({ host: h, state: Number(state[1]), reason: Number(reason?.[1] ?? -1) });
  }
  return out;
}

export interface TaskLine {
  host: string;
  task: string;
  status: string;
}

/** The task rows of apply/plan --json (handlers left out: they follow changes). */
export function taskRows(doc: unknown): TaskLine[] {
  const d = doc as { results: { host: string; task: string; status: string; handler?: boolean }[] };
  return d.results.filter((r) => r.handler !== true).map((r) => ({ host: r.host, task: r.task, status: r.status }));
}

/** The task rows that changed something (or would, under plan). */
export const changedTasks = (doc: unknown): TaskLine[] => taskRows(doc).filter((r) => r.status === 'changed');
