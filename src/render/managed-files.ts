// Every whole file apply manages on a host, rendered from the inventory alone:
// `hvmctl render` writes them out, apply's file tasks compare and install them.
// Pure (apart from reading the templates once): (inventory, host) -> files.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { balancerHosts, hypervisors } from '../inventory/types.ts';
import { balancerConfig } from './balancer-config.ts';
import { balancerPaths } from './balancer-paths.ts';
import type { FirewallExtra } from './firewall-rules.ts';
import { wantedFamilyRules } from './firewall-rules.ts';
import { osProfile } from '../os/profiles.ts';
import { type IpFamily, ipFamilies, ipFamilyTools } from './ip-family.ts';
import { type NetworkFacts, networkFiles } from './network-files.ts';
import { cronToOnCalendar } from './on-calendar.ts';
import { templateFile } from './template-file.ts';
import type { ManagedFile } from './types.ts';
import { singleQuoted } from '../shell.ts';

export { balancerPaths } from './balancer-paths.ts';
export type { FirewallExtra } from './firewall-rules.ts';
export { firewallPolicies, wantedFamilyRules, wantedFirewallRules, wantedIpv6FirewallRules } from './firewall-rules.ts';
export { type IpFamily, ipFamilies } from './ip-family.ts';
export { debianInterfacesPath, type NetworkFacts, type NmVersion } from './network-files.ts';

/** libvirt (>= 6.5) runs every script in hooks/qemu.d/ as its qemu hook: ours leaves the host's own hooks alone. */
export const LEASE_HOOK_PATH = '/etc/libvirt/hooks/qemu.d/hvmctl-disk-leases';

/** The bridge guard's rules (templates/bridge-guard.nft.hbs) and the unit that loads them at boot. */
export const BRIDGE_GUARD = {
  file: '/etc/hvmctl/bridge-guard.nft',
  unit: 'hvmctl-bridge-guard.service',
  unitPath: '/etc/systemd/system/hvmctl-bridge-guard.service',
  /** A drop-in of nftables.service, whose start, restart and reload flush the whole ruleset: it loads the guard after each. */
  nftablesDropIn: '/etc/systemd/system/nftables.service.d/hvmctl-bridge-guard.conf',
  table: 'hvmctl_guard',
} as const;

/** mountd's port, fixed (as Fedora's rpc.mountd default) so the firewall can open it. */
export const nfsMountPort = 20048;

const file = templateFile;

/**
 * Path of the rules file of `family` that the OS family's boot-time loader
 * reads: Debian's netfilter-persistent (iptables-persistent's plugins
 * 15-ip4tables and 25-ip6tables), RHEL's iptables-services.
 */
export function firewallRulesPath(host: HostSpec, family: IpFamily = 'ipv4'): string {
  return osProfile(host).firewallLoader.rulesPaths[family];
}

/** Path of the libvirt pool definition. */
export function poolXmlPath(inv: Inventory): string {
  return `/etc/libvirt/storage/${inv.pool.name}.xml`;
}

/** Whether the balancer is installed on `host` (the home hypervisors, or consolidate's first host). */
export function isBalancerHome(inv: Inventory, host: HostSpec): boolean {
  return host.role === 'hypervisor' && balancerHosts(inv.balancer).includes(host.name);
}

/**
 * The /etc/fstab line that mounts the export on a hypervisor (for
 * `nfs.client: kernel`; fstab is not a whole managed file).
 */
export function fstabLine(inv: Inventory): string {
  const server = inv.hosts.find((h) => h.role === 'storage');
  if (!server) throw new RangeError('inventory has no storage host');
  return `${server.fqdn}:${inv.nfs.export} ${inv.nfs.mount} nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0`;
}

function hostsFile(inv: Inventory, host: HostSpec): ManagedFile {
  const loopback = osProfile(host).loopbackHosts;
  return file({
    path: '/etc/hosts',
    mode: 0o644,
    notify: [],
    tags: ['hosts'],
    template: 'hosts.hbs',
    context: { loopback, network: inv.cluster.network, hosts: inv.hosts },
  });
}

const firewallTemplates: Readonly<Record<IpFamily, string>> = { ipv4: 'iptables.hbs', ipv6: 'ip6tables.hbs' };

function firewallFile(inv: Inventory, host: HostSpec, extra: FirewallExtra, family: IpFamily): ManagedFile {
  return file({
    path: firewallRulesPath(host, family),
    mode: 0o600,
    validate: `${ipFamilyTools[family].restore} --test {}`,
    // No reload handler: the live task (tasks/ops/firewall.ts) loads the same
    // rules into INPUT itself, keeping other administrators' rules; reloading
    // the file would flush them.
    notify: [],
    tags: ['firewall'],
    template: firewallTemplates[family],
    context: {
      network: inv.cluster.network,
      bridge: inv.cluster.bridge,
      ipv4Path: firewallRulesPath(host, 'ipv4'),
      rules: wantedFamilyRules(family, inv, host, extra),
    },
  });
}

/** Who may mount the export: each hypervisor's own address, as a /32 (never the network the guests share). */
export function nfsClients(inv: Inventory): string[] {
  return hypervisors(inv).map((h) => `${h.address}/32`);
}

function nfsServerFile(inv: Inventory, host: HostSpec): ManagedFile {
  const clients = nfsClients(inv);
  if (inv.nfs.server === 'ganesha') {
    return file({
      path: '/etc/ganesha/ganesha.conf',
      mode: 0o644,
      notify: ['ganesha-restart'],
      tags: ['nfs'],
      template: 'ganesha.conf.hbs',
      context: { address: host.address, network: inv.cluster.network, clients: clients.join(', '), export: inv.nfs.export, mountPort: nfsMountPort },
    });
  }
  return file({
    path: '/etc/exports',
    mode: 0o644,
    notify: ['exportfs'],
    tags: ['nfs'],
    template: 'exports.hbs',
    context: { network: inv.cluster.network, clients, export: inv.nfs.export },
  });
}

function poolFile(inv: Inventory): ManagedFile {
  return file({
    path: poolXmlPath(inv),
    mode: 0o600,
    // Debian 12 ships virt-xml-validate in libvirt-clients (RHEL: libvirt-client).
    validate: 'virt-xml-validate {} storagepool',
    notify: ['pool-refresh'],
    tags: ['pool'],
    template: 'pool.xml.hbs',
    context: { name: inv.pool.name, path: inv.pool.path },
  });
}

function balancerFiles(inv: Inventory): ManagedFile[] {
  return [
    {
      path: balancerPaths.config,
      content: `${JSON.stringify(balancerConfig(inv), null, 2)}\n`,
      // root's only: on_empty's arguments may carry a BMC's credentials (the agent runs as root)
      mode: 0o600,
      owner: 'root',
      group: 'root',
      notify: [],
      tags: ['balancer'],
      template: 'src/render/balancer-config.ts',
    },
    file({
      path: balancerPaths.cron,
      mode: 0o644,
      notify: ['cron-reload'],
      tags: ['balancer', 'cron'],
      template: 'balancer-cron.hbs',
      context: { schedule: inv.balancer.schedule, ...balancerPaths },
    }),
    // The schedule where PID 1 is systemd, instead of the cron entry (the
    // balancer schedule task installs one or the other, and reloads systemd).
    file({
      path: balancerPaths.serviceUnit,
      mode: 0o644,
      notify: [],
      tags: ['balancer'],
      template: 'balancer.service.hbs',
      context: balancerPaths,
    }),
    file({
      path: balancerPaths.timerUnit,
      mode: 0o644,
      notify: [],
      tags: ['balancer'],
      template: 'balancer.timer.hbs',
      context: { schedule: inv.balancer.schedule, onCalendar: cronToOnCalendar(inv.balancer.schedule) },
    }),
  ];
}

/** Every whole file apply manages on `host`, in apply order. */
export function managedFiles(inv: Inventory, host: HostSpec, extra: FirewallExtra & NetworkFacts = {}): ManagedFile[] {
  const files = [hostsFile(inv, host), ...networkFiles(inv, host, extra), ...ipFamilies.map((family) => firewallFile(inv, host, extra, family))];
  if (host.role === 'storage') files.push(nfsServerFile(inv, host));
  if (host.role === 'hypervisor') {
    files.push(...bridgeGuardFiles(inv, host), poolFile(inv), lockdFile(inv), leaseHookFile(inv));
    if (isBalancerHome(inv, host)) files.push(...balancerFiles(inv));
  }
  return files;
}

/** A hypervisor's bridge guard: no frame from a guest's port with a cluster host's address (tasks/ops/bridge-guard.ts). */
function bridgeGuardFiles(inv: Inventory, host: HostSpec): ManagedFile[] {
  return [
    file({
      path: BRIDGE_GUARD.file,
      mode: 0o644,
      notify: ['bridge-guard-load'],
      tags: ['firewall', 'guard'],
      template: 'bridge-guard.nft.hbs',
      // the gateway too: a guest that took its address by ARP would carry everything the hosts send off the cluster network
      context: { uplink: host.interface, addresses: [...new Set([...inv.hosts.map((h) => h.address), inv.cluster.gateway])].join(', '), macs: inv.hosts.map((h) => h.mac).join(', ') },
      validate: 'nft -c -f {}',
    }),
    // the boot unit, and nftables.service's drop-in (its starts and reloads flush the ruleset)
    ...([
      [BRIDGE_GUARD.unitPath, 'bridge-guard.service.hbs'],
      [BRIDGE_GUARD.nftablesDropIn, 'bridge-guard-nftables.conf.hbs'],
    ] as const).map(([path, template]) =>
      file({ path, mode: 0o644, notify: ['bridge-guard-load'], tags: ['firewall', 'guard'], template, context: { file: BRIDGE_GUARD.file } }),
    ),
  ];
}

/** libvirt's lockd plugin configuration: disk leases in the shared lockspace (tasks/ops/disk-locks.ts). */
function lockdFile(inv: Inventory): ManagedFile {
  return file({
    path: '/etc/libvirt/qemu-lockd.conf',
    mode: 0o644,
    notify: ['libvirtd-restart'],
    tags: ['locks'],
    template: 'qemu-lockd.conf.hbs',
    context: { dir: inv.nfs.locks.dir, mount: inv.nfs.locks.mount },
  });
}

/** The qemu hook that refuses a guest whose NFS network disks lack their lease (templates/libvirt-hook-leases.sh.hbs). */
function leaseHookFile(inv: Inventory): ManagedFile {
  return file({
    path: LEASE_HOOK_PATH,
    mode: 0o755,
    notify: ['libvirtd-restart'],
    tags: ['locks'],
    template: 'libvirt-hook-leases.sh.hbs',
    // `dir` is read by the hook's shell: a quoted word (the schema's absPath needs no escape)
    context: { dir: inv.nfs.locks.dir, dirWord: singleQuoted(inv.nfs.locks.dir) },
  });
}
