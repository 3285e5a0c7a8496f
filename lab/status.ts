// `hvmctl lab status`: what runs in each lab host, read from the machine
// (the host's current init and the processes in its PID namespace), not from
// what `lab up` intended.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { initPid } from './host-process.ts';
import type { LabHostState, LabState } from './lab-record.ts';

export interface HostStatus {
  readonly name: string;
  readonly role: string;
  readonly address: string;
  readonly netns: string;
  /** PID (root namespace) of the host's init now; 0 while it is down. */
  readonly initPid: number;
  readonly up: boolean;
  /** The host's init program (systemd, or sh with --sshd-only). */
  readonly init: string;
  /** Program names running in the host (sshd, cron, libvirtd, ...), sorted, unique. */
  readonly services: readonly string[];
  readonly cpus: number;
  readonly memoryMiB: number;
}

const SERVICES = ['systemd-journal', 'dbus-daemon', 'sshd', 'cron', 'virtlogd', 'virtlockd', 'libvirtd', 'rpcbind', 'ganesha.nfsd', 'qemu-system-x86'];

/** Pure: which of the known services appear among process names. */
export function servicesIn(comms: readonly string[]): string[] {
  return SERVICES.filter((s) => comms.some((c) => c === s || c.startsWith(s.slice(0, 15))));
}

function commsInPidNamespace(initPid: number): string[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const comms: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== ns) continue;
      comms.push(readFileSync(`/proc/${entry}/comm`, 'utf8').trim());
    } catch {
      // exited meanwhile
    }
  }
  return comms;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function hostStatus(h: LabHostState): HostStatus {
  const pid = initPid(h);
  return {
    name: h.name,
    role: h.role,
    address: h.address,
    netns: h.netns,
    initPid: pid ?? 0,
    up: pid !== undefined,
    init: pid === undefined ? '' : comm(pid),
    services: pid === undefined ? [] : servicesIn(commsInPidNamespace(pid)),
    cpus: h.cpus,
    memoryMiB: h.memoryMiB,
  };
}

export function labStatus(state: LabState): HostStatus[] {
  return state.hosts.map(hostStatus);
}

/** Pure: the table `lab status` prints. */
export function formatStatus(state: LabState, hosts: readonly HostStatus[]): string {
  const rows = hosts.map((h) => [h.name, h.role, h.address, `${h.cpus} cpu ${h.memoryMiB} MiB`, h.up ? String(h.initPid) : '-', h.up ? `up (${h.init})` : 'DOWN', h.services.join(',') || '-']);
  const head = ['HOST', 'ROLE', 'ADDRESS', 'MACHINE', 'INIT PID', 'STATE', 'SERVICES'];
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [
    `lab up since ${state.startedAt} (inventory ${state.inventory}, bridge ${state.bridge} ${state.gatewayCidr}, guests: ${state.accel})`,
    line(head),
    ...rows.map(line),
    'each host sees its own CPUs and memory in /proc (lxcfs); console logs: /var/lib/hvmctl-lab/<host>/console.log',
    `known_hosts: ${state.knownHosts}; identity: ${state.identity}`,
  ].join('\n');
}
