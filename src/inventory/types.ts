// The inventory after validation (src/inventory/load.ts). Inside hvmctl these
// types are trusted: the loader has checked the schema and the cross-field
// rules, filled defaults and expanded `~`. Names are the YAML's, camelCased.
import { parseSchedule, shortestGapSeconds } from './cron.ts';

/** OS families hvmctl knows; what differs between them is src/os/profiles.ts. */
export type OsFamily = 'debian' | 'ubuntu' | 'redhat';
/** How a host's bridge is configured and its network restarted (src/os/profiles.ts names each family's default). */
export type NetworkBackend = 'ifupdown' | 'networkmanager' | 'netplan' | 'networkd' | 'ifcfg';
export type Role = 'storage' | 'hypervisor';

export interface HostSpec {
  /** Short name, e.g. `kvmnode1`. */
  readonly name: string;
  /** `name.domain`, e.g. `kvmnode1.localdomain`. */
  readonly fqdn: string;
  readonly role: Role;
  readonly address: string;
  readonly mac: string;
  /** Physical interface enslaved to the bridge, e.g. `eth0`. */
  readonly interface: string;
  readonly osFamily: OsFamily;
  /** The host's network backend: the inventory's choice, else its family's default. */
  readonly networkBackend: NetworkBackend;
  /** Where apply connects to (defaults to `address`). */
  readonly sshHost: string;
  /** The port apply connects to on sshHost (a port forward's, a bastion's). */
  readonly sshPort: number;
  /** The port this host's sshd listens on: what the firewall opens and the other hypervisors use (src/inventory/sshd-port.ts). */
  readonly sshdPort: number;
  /** Seconds each remote step may take on this host; undefined: the command line's --timeout. */
  readonly timeout?: number;
}

export interface ClusterSpec {
  readonly domain: string;
  /** CIDR, e.g. `172.21.3.0/26`. */
  readonly network: string;
  readonly prefix: number;
  readonly netmask: string;
  readonly networkAddress: string;
  readonly broadcast: string;
  readonly gateway: string;
  readonly bridge: string;
}

export interface SshSpec {
  readonly user: string;
  readonly port: number;
  /** Absolute path of the operator's private key. */
  readonly identity: string;
  /** Absolute path of the operator's known_hosts (host keys pinned there). */
  readonly knownHosts: string;
  readonly clusterKeyType: 'ed25519' | 'rsa' | 'ecdsa';
}

/** The lockspace's directory in the export (mounted on nfs.locks.dir, or under nfs.mount). */
export const LOCKSPACE_ON_EXPORT = '.hvmctl-lockd';

export interface NfsSpec {
  readonly server: 'kernel' | 'ganesha';
  readonly client: 'kernel' | 'qemu';
  readonly export: string;
  readonly mount: string;
  /** Disk leases (tasks/ops/disk-locks.ts): the shared lockspace on every hypervisor, and whether apply mounts it. */
  readonly locks: { readonly dir: string; readonly mount: boolean };
}

export interface PoolSpec {
  readonly name: string;
  readonly path: string;
}

export interface FirewallSpec {
  readonly backend: 'auto' | 'firewalld' | 'iptables';
  /** Inclusive port range, e.g. [49152, 49215]. */
  readonly migrationPorts: readonly [number, number];
  readonly libvirtPorts: readonly number[];
  readonly nfsPorts: readonly number[];
}

/** Settings of the `home` strategy, as in the inventory (percentages, seconds). */
export interface HomeSpec {
  /** Home hypervisors; the balancer is installed on them. */
  readonly hosts: readonly string[];
  readonly helpers: readonly string[];
  readonly high: number;
  readonly overloadWindow: number;
  readonly low: number;
  readonly calmWindow: number;
  /** Seconds. */
  readonly cooldown: number;
}

/** Settings of the `consolidate` strategy, as in the inventory. */
export interface ConsolidateSpec {
  /** The hypervisors it packs; the balancer is installed on the first. */
  readonly hosts: readonly string[];
  readonly high: number;
  readonly overloadWindow: number;
  readonly low: number;
  readonly calmWindow: number;
  /** Seconds. */
  readonly cooldown: number;
  /** Seconds within which each move off an overloaded host beyond the first doubles a VM's cooldown (0: fixed). */
  readonly cooldownMemory: number;
  /** Seconds of per-VM measurements each prediction is taken over (the agent keeps them). */
  readonly history: number;
  /** argv run for each emptied host, `{host}` replaced; absent: nothing is run. */
  readonly onEmpty?: readonly string[];
}

/** The strategy that runs, named, with its own settings under its own name. */
export type StrategySpec =
  | { readonly strategy: 'home'; readonly home: HomeSpec }
  | { readonly strategy: 'consolidate'; readonly consolidate: ConsolidateSpec };

/** balancer.prometheus: the exporters apply installs and who may scrape them; the server the balancer queries. */
export interface PrometheusSpec {
  /** The server's HTTP API (required when cpuSource is `prometheus`). */
  readonly url?: string;
  /** IPv4 addresses that may reach the exporters' ports. */
  readonly scrapers: readonly string[];
  /** Seconds each rate is taken over. */
  readonly window: number;
  /** Seconds after which a host's newest sample is stale. */
  readonly maxAge: number;
  readonly nodeExporterPort: number;
  readonly libvirtExporterPort: number;
}

/** What every strategy shares. */
export interface BalancerCommonSpec {
  readonly maxMigrationsPerRun: number;
  /** Seconds. */
  readonly migrationTimeout: number;
  readonly sampleSeconds: number;
  /** `procstat`, `prometheus`, or `cgroup:/sys/fs/cgroup/cpuacct/...`. */
  readonly cpuSource: string;
  /** Exporters on the hypervisors, the balancer's own metrics, and (cpuSource `prometheus`) where it reads. */
  readonly prometheus?: PrometheusSpec;
  readonly schedule: string;
  readonly pinned: readonly string[];
  readonly drained: readonly string[];
}

export type BalancerSpec = StrategySpec & BalancerCommonSpec;

/** Hypervisors the balancer is installed on and runs from. */
export function balancerHosts(spec: StrategySpec): readonly string[] {
  switch (spec.strategy) {
    case 'home':
      return spec.home.hosts;
    case 'consolidate':
      return spec.consolidate.hosts.slice(0, 1);
  }
}

/** Home hypervisors (a VM on one of them without a recorded home lives there); none under consolidate. */
export function homeHosts(spec: StrategySpec): readonly string[] {
  switch (spec.strategy) {
    case 'home':
      return spec.home.hosts;
    case 'consolidate':
      return [];
  }
}

/** Runs a strategy's windows refer to. */
export function longestWindow(spec: StrategySpec): number {
  const s = spec.strategy === 'home' ? spec.home : spec.consolidate;
  return Math.max(s.overloadWindow, s.calmWindow);
}

/**
 * Runs of measurements the agent keeps in its state file: the windows and 5
 * more; under consolidate also `history` seconds of runs at the schedule's
 * shortest gap (an hour: 60 runs at `* * * * *`, 12 at `*\/5 * * * *`), so
 * its predictions see the hour the replay's do. A schedule the agent's own
 * check did not see (its config is rendered from a checked inventory) counts
 * as one run a minute, the most.
 */
export function runsKept(spec: BalancerSpec): number {
  const windows = longestWindow(spec) + 5;
  if (spec.strategy !== 'consolidate') return windows;
  const parsed = parseSchedule(spec.schedule);
  const gap = 'problem' in parsed ? 60 : shortestGapSeconds(parsed.fields);
  return Math.max(windows, Math.ceil(spec.consolidate.history / gap));
}

export interface Inventory {
  /** Absolute path of the file it was read from (for messages). */
  readonly file: string;
  readonly cluster: ClusterSpec;
  readonly ssh: SshSpec;
  /** Every host, storage first, then hypervisors, in file order. */
  readonly hosts: readonly HostSpec[];
  readonly nfs: NfsSpec;
  readonly pool: PoolSpec;
  readonly firewall: FirewallSpec;
  readonly balancer: BalancerSpec;
}

export function storageHosts(inv: Inventory): HostSpec[] {
  return inv.hosts.filter((h) => h.role === 'storage');
}

export function isHypervisor(host: Pick<HostSpec, 'role'>): boolean {
  return host.role === 'hypervisor';
}

export function hypervisors(inv: Inventory): HostSpec[] {
  return inv.hosts.filter(isHypervisor);
}

export function hostByName(inv: Inventory, name: string): HostSpec | undefined {
  return inv.hosts.find((h) => h.name === name);
}
