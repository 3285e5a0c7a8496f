// Pure: what the lab builds for an inventory. Every name the lab creates on
// this machine starts with `hvmlab`, so `lab down` (and a test) can find and
// remove exactly those.
import type { HostSpec, Inventory } from '../src/inventory/types.ts';

export const LAB_BRIDGE = 'hvmlab0';
/** A tmpfs mounted here holds every host's overlay upper dir and the state file. */
export const LAB_DIR = '/var/lib/hvmctl-lab';
export const LAB_STATE = `${LAB_DIR}/state.json`;
export const CGROUP_ROOT = '/sys/fs/cgroup';
export const CGROUP_CONTROLLERS = ['cpu', 'cpuacct'] as const;
/** Marker at the end of every known_hosts line the lab adds. */
export const KNOWN_HOSTS_MARKER = 'hvmctl-lab';

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
  /** This host's directory on the lab tmpfs (upper, work, root, console.log). */
  readonly dir: string;
  /** cgroup v1 directories per controller, e.g. /sys/fs/cgroup/cpuacct/hvmlab/kvmnode1. */
  readonly cgroups: readonly string[];
  /** The balancer's `cpu_source` setting that reads this host's CPU use. */
  readonly cpuSource: string;
}

export interface LabTopology {
  readonly bridge: string;
  /** Gateway address with prefix, put on the bridge, e.g. 172.21.3.1/26. */
  readonly gatewayCidr: string;
  readonly prefix: number;
  readonly hosts: readonly LabHost[];
}

export function labTopology(inv: Inventory): LabTopology {
  return {
    bridge: LAB_BRIDGE,
    gatewayCidr: `${inv.cluster.gateway}/${inv.cluster.prefix}`,
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
      cgroups: CGROUP_CONTROLLERS.map((c) => `${CGROUP_ROOT}/${c}/hvmlab/${h.name}`),
      cpuSource: `cgroup:${CGROUP_ROOT}/cpuacct/hvmlab/${h.name}`,
    })),
  };
}
