// `hvmctl lab down`: remove everything a lab made, whether or not its state
// file survived. It finds the lab by its names (every one starts with
// hvmlab), so it also cleans up after a crashed `lab up`. Idempotent.
// Order: guests (virsh destroy) → every process of the hosts (SIGKILL: the
// host's PID 1 takes its PID namespace, mounts with it) → known_hosts lines
// → network namespaces, veths, bridge → cgroups → the lab tmpfs.
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { forgetHostKeys } from './known-hosts.ts';
import { runLocal } from './local.ts';
import { runInHost } from './enter.ts';
import type { LabState } from './state.ts';
import { readLabState } from './state.ts';
import { CGROUP_CONTROLLERS, CGROUP_ROOT, LAB_BRIDGE, LAB_DIR } from './topology.ts';
import { LabError } from './lab-error.ts';

export interface DownOptions {
  readonly progress: (line: string) => void;
  /** known_hosts files to clean besides the one recorded in the state. */
  readonly knownHosts?: readonly string[];
}

export interface DownReport {
  readonly guests: number;
  readonly processes: number;
  readonly namespaces: number;
  readonly links: number;
  readonly cgroups: number;
  readonly mounts: number;
}

export async function labDown(options: DownOptions): Promise<DownReport> {
  const say = options.progress;
  let state: LabState | undefined;
  try {
    state = readLabState();
  } catch {
    state = undefined;
  }

  let guests = 0;
  for (const h of state?.hosts ?? []) {
    if (h.role !== 'hypervisor' || !existsSync(`/proc/${h.initPid}/root/run/hvmctl-lab.ready`)) continue;
    const r = runInHost(
      h,
      'for d in $(virsh -c qemu:///system list --name 2>/dev/null); do virsh -c qemu:///system destroy "$d" >/dev/null 2>&1 && echo "$d"; done',
      { timeoutMs: 20_000 },
    );
    const names = r.stdout.split('\n').filter(Boolean);
    guests += names.length;
    if (names.length) say(`${h.name}: destroyed guests ${names.join(', ')}`);
  }

  const processes = await killLabProcesses(state);
  if (processes) say(`killed ${processes} lab processes`);

  for (const file of new Set([...(state ? [state.knownHosts] : []), ...(options.knownHosts ?? [])])) {
    forgetHostKeys(file);
  }

  let namespaces = 0;
  for (const ns of labNamespaces()) {
    const r = runLocal(['ip', 'netns', 'delete', ns]);
    if (r.code !== 0) throw new LabError('E_LAB_DOWN', `cannot delete network namespace ${ns}: ${r.stderr.trim()}`, { hint: 'run `hvmctl lab down` again' });
    namespaces++;
  }
  let links = 0;
  for (const link of labLinks()) {
    if (runLocal(['ip', 'link', 'delete', link]).code === 0) links++;
  }
  if (namespaces || links) say(`network: removed ${namespaces} namespaces, ${links} links`);

  const cgroups = removeCgroups();
  if (cgroups) say(`removed ${cgroups} cgroups`);

  let mounts = 0;
  if (readFileSync('/proc/mounts', 'utf8').includes(` ${LAB_DIR} `)) {
    const r = runLocal(['umount', LAB_DIR]);
    if (r.code !== 0) runLocal(['umount', '-l', LAB_DIR]);
    mounts++;
  }
  if (existsSync(LAB_DIR)) {
    try {
      rmdirSync(LAB_DIR);
    } catch {
      // not empty: something other than the lab put files there; leave them.
    }
  }
  const leftovers = labLeftovers();
  if (leftovers.length) {
    throw new LabError('E_LAB_DOWN', `lab down left: ${leftovers.join(', ')}`, { hint: 'run `hvmctl lab down` again; if it stays, remove these by hand' });
  }
  return { guests, processes, namespaces, links, cgroups, mounts };
}

export function labNamespaces(): string[] {
  return runLocal(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith('hvmlab-'));
}

export function labLinks(): string[] {
  const out = runLocal(['ip', '-o', 'link', 'show']).stdout;
  const names = [...out.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1] ?? '');
  // The bridge last: veths first, so deleting it does not race their removal.
  return names.filter((n) => n.startsWith('hvmlab') && n !== LAB_BRIDGE).concat(names.includes(LAB_BRIDGE) ? [LAB_BRIDGE] : []);
}

function cgroupDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const p = path.join(dir, entry);
      try {
        if (statSync(p).isDirectory()) walk(p);
      } catch {
        // gone meanwhile
      }
    }
    out.push(dir); // children before parents
  };
  for (const c of CGROUP_CONTROLLERS) walk(`${CGROUP_ROOT}/${c}/hvmlab`);
  return out;
}

/** PIDs of every process of the lab: in its cgroups or its network namespaces. */
export function labPids(state?: LabState): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs()) {
    try {
      for (const p of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  for (const ns of labNamespaces()) {
    for (const p of runLocal(['ip', 'netns', 'pids', ns]).stdout.split('\n')) if (p.trim()) pids.add(Number(p));
  }
  for (const h of state?.hosts ?? []) if (existsSync(`/proc/${h.initPid}`)) pids.add(h.initPid);
  pids.delete(process.pid);
  return [...pids].filter((p) => Number.isInteger(p) && p > 1);
}

async function killLabProcesses(state: LabState | undefined): Promise<number> {
  const killed = new Set<number>();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pids = labPids(state).filter((p) => existsSync(`/proc/${p}`) && !isZombie(p));
    if (pids.length === 0) return killed.size;
    if (Date.now() > deadline) {
      throw new LabError('E_LAB_DOWN', `lab processes survive SIGKILL: ${pids.join(' ')}`, { hint: 'look at them with ps -o pid,stat,cmd -p PID' });
    }
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
        killed.add(p);
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function removeCgroups(): number {
  let n = 0;
  for (const dir of cgroupDirs()) {
    try {
      rmdirSync(dir);
      n++;
    } catch {
      // busy: reported by labLeftovers
    }
  }
  return n;
}

/** What of a lab is still on this machine (empty after a clean `lab down`). */
export function labLeftovers(): string[] {
  const left: string[] = [];
  for (const ns of labNamespaces()) left.push(`netns ${ns}`);
  for (const l of labLinks()) left.push(`link ${l}`);
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) if (line.includes('hvmlab')) left.push(`mount ${line.split(' ')[1]}`);
  for (const dir of cgroupDirs()) left.push(`cgroup ${dir}`);
  return left;
}
