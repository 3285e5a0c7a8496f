// Pure: what the lab builds for an inventory. Every name the lab creates on
// this machine starts with `hvmlab`, so `lab down` (and a test) can find and
// remove exactly those.
//
// A lab host is a systemd-nspawn container booting Debian's own systemd
// (lab/supervise.sh), in a network namespace of its own whose `eth0` is a veth
// on the lab bridge, with the inventory's MAC: the NIC of a server. Its cgroup
// (one per hierarchy, under `hvmlab/<host>`) is its machine: hypervisors get
// one CPU and a memory size of their own, and lxcfs turns those into the
// host's own /proc/stat, /proc/meminfo and CPU count.
import { LAB_BRIDGE, LAB_DIR } from '../src/connector/route-guard.ts';
import type { HostSpec, Inventory } from '../src/inventory/types.ts';

// The bridge, the lab's directory (a tmpfs mounted there holds every host's
// layer, lxcfs and the state file) and the state file are named beside the
// route guard, which connectors below the lab apply.
export { LAB_BRIDGE, LAB_DIR, LAB_STATE } from '../src/connector/route-guard.ts';
/** The directory every lab hypervisor sees at nfs.locks.dir (on the lab's tmpfs: gone with the lab). */
export const LAB_LOCKSPACE = `${LAB_DIR}/lockspace`;
/** The hypervisors' /dev/kvm: the lab's own node for this machine's KVM device (lab up, kvmNode). */
export const LAB_KVM = `${LAB_DIR}/kvm`;
/** lxcfs's mount point; hosts see it read-only at /var/lib/lxcfs. */
export const LXCFS_DIR = `${LAB_DIR}/lxcfs`;
export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The cgroup subtree of the lab in every hierarchy. */
export const CGROUP_PARENT = 'hvmlab';
/** Marker at the end of every known_hosts line the lab adds. */
export const KNOWN_HOSTS_MARKER = 'hvmctl-lab';

/** What a lab host is given: CPUs (a CFS quota) and memory. */
export const HOST_RESOURCES = {
  hypervisor: { cpus: 1, memoryMiB: 4096 },
  storage: { cpus: 1, memoryMiB: 2048 },
} as const;
/**
 * cpu.shares of the whole lab against the rest of the machine (1024 = one
 * ordinary process): a CPU hog beside the lab does not take a host's CPU away
 * from its guests, so a host's measured load is its own.
 */
export const LAB_CPU_SHARES = 10240;

export interface LabHost {
  readonly name: string;
  readonly fqdn: string;
  readonly role: HostSpec['role'];
  readonly address: string;
  readonly mac: string;
  /** Interface name inside the host (the inventory's, e.g. eth0). */
  readonly interface: string;
  readonly netns: string;
  /** The root namespace's end of the veth pair, enslaved to the bridge. */
  readonly veth: string;
  /** This host's directory on the lab tmpfs (upper, work, root, console.log, pids). */
  readonly dir: string;
  /** The host's own cpuacct cgroup, read from outside (tests, status). */
  readonly cpuacct: string;
  readonly cpus: number;
  readonly memoryMiB: number;
}

export interface LabTopology {
  readonly bridge: string;
  /** Gateway address with prefix, put on the bridge, e.g. 172.21.3.1/26. */
  readonly gatewayCidr: string;
  readonly gateway: string;
  readonly prefix: number;
  readonly hosts: readonly LabHost[];
}

export function labTopology(inv: Inventory): LabTopology {
  return {
    bridge: LAB_BRIDGE,
    gatewayCidr: `${inv.cluster.gateway}/${inv.cluster.prefix}`,
    gateway: inv.cluster.gateway,
    prefix: inv.cluster.prefix,
    hosts: inv.hosts.map((h, i) => ({
      name: h.name,
      fqdn: h.fqdn,
      role: h.role,
      address: h.address,
      mac: h.mac,
      interface: h.interface,
      netns: `hvmlab-${h.name}`,
      veth: `hvmlab-v${i}`,
      dir: `${LAB_DIR}/${h.name}`,
      cpuacct: `${CGROUP_ROOT}/cpuacct/${CGROUP_PARENT}/${h.name}`,
      ...HOST_RESOURCES[h.role],
    })),
  };
}

/** Pure: the host's cgroup directory in each of `hierarchies` (names under /sys/fs/cgroup). */
export function hostCgroups(hierarchies: readonly string[], host: string): string[] {
  return hierarchies.map((h) => `${CGROUP_ROOT}/${h}/${CGROUP_PARENT}/${host}`);
}

/**
 * Pure: the hierarchies a command run in a host joins so its resources count
 * for that host (not name=systemd or the v2 tree: those belong to the host's
 * own systemd).
 */
export function accountingHierarchies(hierarchies: readonly string[]): string[] {
  return hierarchies.filter((h) => h !== 'systemd' && h !== 'unified');
}
