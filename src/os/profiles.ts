// Everything that differs between OS families, in one place: package and
// service names, the package tool, the cron daemon, the firewall's boot-time
// loader, /etc/hosts' loopback lines, and the network backend a host gets when
// the inventory names none. A Record over OsFamily: adding a family to the
// union makes the compiler name this table, and nothing else in hvmctl reads
// the family (code asks the profile, `osProfile(host)`, never `=== 'redhat'`).
//
// Debian names were checked against bookworm's packages (what each ships:
// test/fixtures/captured/debian12-*.txt). RHEL-family names are EL9/Fedora's,
// read from their spec files (libvirt.spec: libvirtd.service is in
// libvirt-daemon, the dir pool's driver in libvirt-daemon-driver-storage-core,
// virt-xml-validate in libvirt-client; EL9 renamed iptables and
// iptables-services to iptables-nft and iptables-nft-services). Ubuntu 24.04
// (noble) uses Debian's names for every package listed here (main and
// universe); they were not checked against a noble archive from this machine.
import type { NetworkBackend, OsFamily } from '../inventory/types.ts';

export type PackageTool = 'apt' | 'dnf';

export interface NfsPackages {
  readonly server: { readonly kernel: readonly string[]; readonly ganesha: readonly string[] };
  readonly client: { readonly kernel: readonly string[]; readonly qemu: readonly string[] };
}

/** A daemon apply keeps running. */
export interface Service {
  /** systemd unit to enable and start. */
  readonly unit: string;
  /** The socket unit that starts `unit` on demand: while it listens, the daemon counts as running. */
  readonly socket?: string;
  /** Process name for `pgrep -x` where systemd is not PID 1. */
  readonly process: string;
  /** How to start it without systemd (it must daemonize). */
  readonly start: string;
}

export interface FirewallLoader {
  /** The packages of the loader that reads the rules files at boot. */
  readonly packages: readonly string[];
  /** The units that load the rules files at boot (real unit names, never aliases). */
  readonly units: readonly string[];
  /** debconf answers given before the install (apt only). */
  readonly debconf?: readonly string[];
  /** Installing the package starts the loader, which reloads the files with a full flush of the filter table. */
  readonly startsAtInstall?: boolean;
  /** Where the loader reads the rules of each address family. */
  readonly rulesPaths: { readonly ipv4: string; readonly ipv6: string };
}

export interface NetworkProfile {
  /** The backend a host of this family gets when the inventory names none. */
  readonly defaultBackend: NetworkBackend;
  /**
   * Per backend, the packages it needs on this family (installed in the
   * packages stage), or null: the family does not offer that backend, and an
   * inventory choosing it is refused at load time.
   */
  readonly packages: Readonly<Record<NetworkBackend, readonly string[] | null>>;
  /**
   * Files the family's installer configures the port with, which would keep
   * its address beside the bridge's: every backend but ifupdown and ifcfg
   * (managed as before) removes them, each with an undo record for the
   * rollback. (Debian's installer writes /etc/network/interfaces, which the
   * other backends manage whole instead: `ifupdownLoopback`.)
   */
  installerFiles(iface: string): readonly string[];
  /** ifupdown reads /etc/network/interfaces at boot here: backends other than ifupdown manage it with only `lo` in it. */
  readonly ifupdownLoopback: boolean;
}

/** Prometheus' exporters as the family packages them. */
export interface PrometheusExporters {
  readonly packages: readonly string[];
  /** node_exporter's unit (host CPU and memory, the textfile collector). */
  readonly nodeUnit: string;
  /** The libvirt exporter's unit (runs as user prometheus, reads libvirt's socket). */
  readonly libvirtUnit: string;
}

export interface OsProfile {
  /** For people: "Debian", "Ubuntu", "RHEL family (EL 9/10, Fedora)". */
  readonly label: string;
  readonly packageTool: PackageTool;
  /** Every host: the firewall tools and pgrep. */
  readonly common: readonly string[];
  readonly nfs: NfsPackages;
  readonly hypervisor: readonly string[];
  /** The balancer's runtime (tasks/ops/balancer.ts). */
  readonly node: string;
  /** libvirt's daemons on a hypervisor. */
  readonly libvirt: readonly Service[];
  /** The cron daemon (a hypervisor's, and the balancer's schedule where systemd is not PID 1). */
  readonly cron: Service;
  /** The kernel NFS server's unit (never an alias: `systemctl is-enabled` reports an alias as `alias`). */
  readonly nfsServerUnit: string;
  readonly firewallLoader: FirewallLoader;
  /** /etc/hosts' loopback lines, as the family's installer writes them. */
  readonly loopbackHosts: readonly string[];
  readonly network: NetworkProfile;
  /** Prometheus' node and libvirt exporters (tasks/ops/exporters.ts), or null: the family's own
   * repositories have none, and an inventory asking apply for them is refused at load time. */
  readonly prometheusExporters: PrometheusExporters | null;
}

/** iptables-persistent's debconf questions, answered "no": never save the live rules over apply's files. */
export const IPTABLES_PERSISTENT_PRESEED = [
  'iptables-persistent iptables-persistent/autosave_v4 boolean false',
  'iptables-persistent iptables-persistent/autosave_v6 boolean false',
] as const;

/** Debian 12 and EL9 ship the same libvirt unit names. */
const libvirtServices: readonly Service[] = [
  // virtlogd.service has no [Install] of its own: its socket is what is enabled.
  { unit: 'virtlogd.socket', process: 'virtlogd', start: 'mkdir -p /var/log/libvirt /run/libvirt && virtlogd -d' },
  { unit: 'libvirtd', socket: 'libvirtd.socket', process: 'libvirtd', start: 'mkdir -p /var/log/libvirt /run/libvirt && libvirtd -d' },
];

/** What Debian and Ubuntu share: the same package names, units and files. */
const debianLike = {
  packageTool: 'apt',
  common: ['iptables', 'procps'],
  nfs: {
    server: { kernel: ['nfs-kernel-server'], ganesha: ['nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind'] },
    client: { kernel: ['nfs-common'], qemu: ['libnfs-utils', 'qemu-block-extra'] },
  },
  hypervisor: [
    // libvirt-daemon has the binaries; libvirt-daemon-system the units (libvirtd, virtlogd), users and configuration.
    'libvirt-daemon-system',
    'libvirt-daemon',
    'libvirt-daemon-driver-qemu',
    'libvirt-clients',
    // virt-xml-validate (libvirt-clients) runs xmllint; libvirt only recommends it.
    'libxml2-utils',
    'qemu-system-x86',
    'qemu-utils',
    'sysstat',
    'openssh-client',
    'cron',
    // nft: the bridge guard (tasks/ops/bridge-guard.ts)
    'nftables',
  ],
  node: 'nodejs',
  libvirt: libvirtServices,
  cron: { unit: 'cron', process: 'cron', start: 'cron' },
  // nfs-kernel-server ships nfs-server.service and `nfs-kernel-server.service` only as an alias of it.
  nfsServerUnit: 'nfs-server',
  firewallLoader: {
    packages: ['iptables-persistent', 'netfilter-persistent'],
    units: ['netfilter-persistent'],
    debconf: IPTABLES_PERSISTENT_PRESEED,
    startsAtInstall: true,
    rulesPaths: { ipv4: '/etc/iptables/rules.v4', ipv6: '/etc/iptables/rules.v6' },
  },
  loopbackHosts: ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'],
  // Debian 12: prometheus-node-exporter 1.5.0, prometheus-libvirt-exporter 0.2.0 (kumina's); each ships one unit of its name.
  prometheusExporters: { packages: ['prometheus-node-exporter', 'prometheus-libvirt-exporter'], nodeUnit: 'prometheus-node-exporter', libvirtUnit: 'prometheus-libvirt-exporter' },
} as const satisfies Omit<OsProfile, 'label' | 'network'>;

// network-manager and netplan.io by their Debian 12 and Ubuntu 24.04 names;
// networkd is in the systemd package of both (Debian 12: systemd 252).
// Neither offers network-scripts (ifcfg).
const debianNetwork = {
  // bridge-utils ships ifupdown's hook for `bridge_ports` (/etc/network/if-pre-up.d/bridge).
  ifupdown: ['bridge-utils'],
  networkmanager: ['network-manager'],
  netplan: ['netplan.io'],
  networkd: [],
  ifcfg: null,
} as const satisfies NetworkProfile['packages'];

export const osProfiles: Readonly<Record<OsFamily, OsProfile>> = {
  debian: {
    label: 'Debian',
    ...debianLike,
    network: { defaultBackend: 'ifupdown', packages: debianNetwork, installerFiles: () => [], ifupdownLoopback: true },
  },
  ubuntu: {
    label: 'Ubuntu',
    ...debianLike,
    network: {
      defaultBackend: 'netplan',
      // Ubuntu installs no ifupdown of its own
      packages: { ...debianNetwork, ifupdown: ['ifupdown', 'bridge-utils'] },
      // subiquity's, and cloud-init's (rewritten only on an instance's first boot)
      installerFiles: () => ['/etc/netplan/00-installer-config.yaml', '/etc/netplan/50-cloud-init.yaml'],
      ifupdownLoopback: false,
    },
  },
  redhat: {
    label: 'RHEL family (EL 9/10, Fedora)',
    packageTool: 'dnf',
    common: ['iptables-nft', 'procps-ng'],
    nfs: {
      server: { kernel: ['nfs-utils'], ganesha: ['nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind'] },
      client: { kernel: ['nfs-utils'], qemu: ['libnfs-utils'] },
    },
    hypervisor: [
      'libvirt-daemon',
      'libvirt-daemon-driver-qemu',
      'libvirt-daemon-driver-storage-core',
      'libvirt-client',
      'qemu-kvm',
      'qemu-img',
      'sysstat',
      'openssh-clients',
      'cronie',
      'nftables',
    ],
    node: 'nodejs',
    libvirt: libvirtServices,
    cron: { unit: 'crond', process: 'crond', start: 'crond' },
    nfsServerUnit: 'nfs-server',
    firewallLoader: {
      // EL9 renamed iptables-services to iptables-nft-services; units iptables and ip6tables.
      packages: ['iptables-nft-services'],
      units: ['iptables', 'ip6tables'],
      rulesPaths: { ipv4: '/etc/sysconfig/iptables', ipv6: '/etc/sysconfig/ip6tables' },
    },
    // EL's own repositories have no libvirt exporter (Fedora packages node_exporter alone)
    prometheusExporters: null,
    loopbackHosts: [
      '127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4',
      '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6',
    ],
    network: {
      // EL 9 has no network-scripts; NetworkManager 1.44 deprecates its ifcfg plugin
      defaultBackend: 'networkmanager',
      // EL's own repositories have no ifupdown and no netplan; systemd-networkd is Fedora's and EPEL 9's
      packages: { ifupdown: null, networkmanager: ['NetworkManager'], netplan: null, networkd: ['systemd-networkd'], ifcfg: [] },
      // Anaconda's keyfile (EL 9 and later), or its ifcfg file (earlier releases, Fedora with network-scripts)
      installerFiles: (iface) => [`/etc/NetworkManager/system-connections/${iface}.nmconnection`, `/etc/sysconfig/network-scripts/ifcfg-${iface}`],
      ifupdownLoopback: false,
    },
  },
};

export const osFamilies = Object.keys(osProfiles) as readonly OsFamily[];

/** The profile of a host's (or a family's) OS. */
export function osProfile(of: OsFamily | { readonly osFamily: OsFamily }): OsProfile {
  return osProfiles[typeof of === 'string' ? of : of.osFamily];
}
