// `hvmctl lab down`: remove everything a lab made, whether or not its state
// file survived. It finds the lab by its names (every one starts with
// hvmlab) and its directory, so it also cleans up after a crashed `lab up`.
// Idempotent. Order: every process of the hosts, supervisors first (SIGKILL:
// a host's init takes its PID namespace, its guests and mounts with it), and
// lxcfs → known_hosts lines → network namespaces, veths, bridge → mounts
// (hosts' overlays, lxcfs, the lab tmpfs) → cgroups, deepest first (the
// hosts' systemd and libvirt made their own below the lab's). The cached
// image (/var/cache/hvmctl-lab) stays: it is a cache, not a lab.
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { forgetHostKeys } from './known-hosts.ts';
import { runLocal } from './local.ts';
import type { LabState } from './lab-record.ts';
import { readLabState } from './lab-record.ts';
import { CGROUP_PARENT, CGROUP_ROOT, LAB_BRIDGE, LAB_DIR } from './topology.ts';
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

  // Power off: every process of every host (the supervisors first, so none
  // powers its host on again), guests included: they run in the hosts' cgroups.
  const guests = countGuests();
  const processes = await killLabProcesses();
  if (processes) say(`killed ${processes} lab processes${guests ? ` (${guests} guests among them)` : ''}`);

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

  // Deepest first: the hosts' overlays and lxcfs, then the lab tmpfs.
  let mounts = 0;
  for (const where of labMounts().reverse()) {
    if (runLocal(['umount', where]).code !== 0) runLocal(['umount', '-l', where]);
    mounts++;
  }
  if (existsSync(LAB_DIR)) {
    try {
      rmdirSync(LAB_DIR);
    } catch {
      // not empty: something other than the lab put files there; leave them.
    }
  }

  // What a killed nspawn could not remove.
  for (const dir of nspawnLeftovers()) rmSync(dir, { recursive: true, force: true });

  const cgroups = removeCgroups();
  if (cgroups) say(`removed ${cgroups} cgroups`);

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
  if (existsSync(CGROUP_ROOT)) for (const h of readdirSync(CGROUP_ROOT)) walk(`${CGROUP_ROOT}/${h}/${CGROUP_PARENT}`);
  return out;
}

/** PIDs of every process of the lab: in its cgroups or its network namespaces, and lxcfs. */
export function labPids(): number[] {
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
  for (const file of labPidFiles()) {
    try {
      pids.add(Number(readFileSync(file, 'utf8').trim()));
    } catch {
      // gone meanwhile
    }
  }
  pids.delete(process.pid);
  return [...pids].filter((p) => Number.isInteger(p) && p > 1);
}

/** The pid files the lab writes: lxcfs's, and each host's supervisor and nspawn. */
function labPidFiles(): string[] {
  if (!existsSync(LAB_DIR)) return [];
  const files = [path.join(LAB_DIR, 'lxcfs.pid')];
  for (const entry of readdirSync(LAB_DIR)) files.push(path.join(LAB_DIR, entry, 'supervisor.pid'), path.join(LAB_DIR, entry, 'nspawn.pid'));
  return files.filter((f) => existsSync(f));
}

/** Guests running in the lab (QEMU processes in its cgroups). */
function countGuests(): number {
  return labPids().filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('qemu-system');
    } catch {
      return false;
    }
  }).length;
}

const NSPAWN_PROPAGATE = '/run/systemd/nspawn/propagate';

/** nspawn's per-machine directories of lab hosts (machine names hvmlab-*). */
function nspawnLeftovers(): string[] {
  if (!existsSync(NSPAWN_PROPAGATE)) return [];
  return readdirSync(NSPAWN_PROPAGATE)
    .filter((n) => n.startsWith('hvmlab-'))
    .map((n) => path.join(NSPAWN_PROPAGATE, n));
}

/** Mount points of the lab (LAB_DIR and below), in mount order. */
export function labMounts(): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === LAB_DIR || m.startsWith(`${LAB_DIR}/`));
}

async function killLabProcesses(): Promise<number> {
  const killed = new Set<number>();
  const deadline = Date.now() + 10_000;
  for (;;) {
    // Supervisors first: a host killed under a live supervisor would be powered on again.
    const supervisors = labPidFiles().filter((f) => f.endsWith('supervisor.pid'));
    for (const f of supervisors) {
      try {
        process.kill(Number(readFileSync(f, 'utf8').trim()), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const pids = labPids().filter((p) => existsSync(`/proc/${p}`) && !isZombie(p));
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
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) if (line.includes('hvmlab') || line.includes(LAB_DIR)) left.push(`mount ${line.split(' ')[1]}`);
  for (const dir of cgroupDirs()) left.push(`cgroup ${dir}`);
  for (const dir of nspawnLeftovers()) left.push(`directory ${dir}`);
  return left;
}
