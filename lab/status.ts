// `hvmctl lab status`: what runs in each lab host, read from the machine
// (processes in the host's PID namespace), not from what `lab up` intended.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { LabHostState, LabState } from './state.ts';

export interface HostStatus {
  readonly name: string;
  readonly role: string;
  readonly address: string;
  readonly netns: string;
  readonly initPid: number;
  readonly up: boolean;
  /** Program names running in the host (sshd, cron, libvirtd, ...), sorted, unique. */
  readonly services: readonly string[];
  readonly cpuSource: string;
}

const SERVICES = ['sshd', 'cron', 'virtlogd', 'libvirtd', 'rpcbind', 'ganesha.nfsd', 'qemu-system-x86'];

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

export function hostStatus(h: LabHostState): HostStatus {
  const up = existsSync(`/proc/${h.initPid}/root/run/hvmctl-lab.ready`);
  return {
    name: h.name,
    role: h.role,
    address: h.address,
    netns: h.netns,
    initPid: h.initPid,
    up,
    services: up ? servicesIn(commsInPidNamespace(h.initPid)) : [],
    cpuSource: h.cpuSource,
  };
}

export function labStatus(state: LabState): HostStatus[] {
  return state.hosts.map(hostStatus);
}

/** Pure: the table `lab status` prints. */
export function formatStatus(state: LabState, hosts: readonly HostStatus[]): string {
  const rows = hosts.map((h) => [h.name, h.role, h.address, String(h.initPid), h.up ? 'up' : 'DOWN', h.services.join(',') || '-']);
  const head = ['HOST', 'ROLE', 'ADDRESS', 'PID', 'STATE', 'SERVICES'];
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [
    `lab up since ${state.startedAt} (inventory ${state.inventory}, bridge ${state.bridge} ${state.gatewayCidr}, guests: ${state.accel})`,
    line(head),
    ...rows.map(line),
    `cpu accounting per host: ${hosts.map((h) => `${h.name}=${h.cpuSource}`).join(' ')}`,
    `known_hosts: ${state.knownHosts}; identity: ${state.identity}`,
  ].join('\n');
}
