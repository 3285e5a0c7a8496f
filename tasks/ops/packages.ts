// The OS packages each role needs (first stage: later stages use them), and
// the one list of every package name apply installs, per OS family:
//   - wantedPackages(inv, host): what the packages task installs on a host;
//   - firewallLoaderPackages / nodePackage: what the firewall's boot-time
//     loader task and the balancer's node task install;
//   - allPackages(os) / allDebianPackages(): the union over roles and NFS
//     choices, plus those two (the lab builds its local apt repository from it).
// Facts: dpkg-query on Debian, rpm -q on RHEL, by exact package name (rpm -q
// does not follow Provides:, so RHEL names are the real packages').
// Debian names were checked against bookworm's packages (what each ships:
// test/fixtures/captured/debian12-*.txt); RHEL names are EL9/Fedora's,
// read from their spec files (libvirt.spec: libvirtd.service is in
// libvirt-daemon, the dir pool's driver in libvirt-daemon-driver-storage-core,
// virt-xml-validate in libvirt-client; EL9 renamed iptables and
// iptables-services to iptables-nft and iptables-nft-services).
// Services are tasks/ops/services.ts.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import type { HostSpec, Inventory, OsFamily, Role } from '../../src/inventory/types.ts';
import { sh } from '../../src/shell.ts';
import type { Fact, Task } from '../engine/types.ts';
import { servicesTask } from './services.ts';

type NfsChoice = Inventory['nfs'];

interface OsPackages {
  /** Every host: the firewall tools, pgrep, and (Debian) what ifupdown needs for `bridge_ports`. */
  readonly common: readonly string[];
  readonly nfsServer: Readonly<Record<NfsChoice['server'], readonly string[]>>;
  readonly hypervisor: readonly string[];
  readonly nfsClient: Readonly<Record<NfsChoice['client'], readonly string[]>>;
  /** The boot-time loader of the iptables rules files (tasks/ops/firewall-boot.ts). */
  readonly firewallLoader: readonly string[];
  /** The balancer's runtime (tasks/ops/balancer.ts). */
  readonly node: string;
}

const osPackages: Readonly<Record<OsFamily, OsPackages>> = {
  debian: {
    // bridge-utils ships ifupdown's hook for `bridge_ports` (/etc/network/if-pre-up.d/bridge).
    common: ['iptables', 'procps', 'bridge-utils'],
    nfsServer: { kernel: ['nfs-kernel-server'], ganesha: ['nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind'] },
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
    ],
    nfsClient: { kernel: ['nfs-common'], qemu: ['libnfs-utils', 'qemu-block-extra'] },
    firewallLoader: ['iptables-persistent', 'netfilter-persistent'],
    node: 'nodejs',
  },
  redhat: {
    common: ['iptables-nft', 'procps-ng'],
    nfsServer: { kernel: ['nfs-utils'], ganesha: ['nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind'] },
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
    ],
    nfsClient: { kernel: ['nfs-utils'], qemu: ['libnfs-utils'] },
    firewallLoader: ['iptables-nft-services'],
    node: 'nodejs',
  },
};

/** Pure: the packages a host of `role` needs, by OS family and the inventory's NFS choices. */
export function packagesFor(os: OsFamily, role: Role, nfs: Pick<NfsChoice, 'server' | 'client'>): string[] {
  const p = osPackages[os];
  return role === 'storage' ? [...p.common, ...p.nfsServer[nfs.server]] : [...p.common, ...p.hypervisor, ...p.nfsClient[nfs.client]];
}

/** Pure: the packages `host` needs (what the packages task installs). */
export function wantedPackages(inv: Inventory, host: HostSpec): string[] {
  return packagesFor(host.osFamily, host.role, inv.nfs);
}

/** The packages of the firewall's boot-time loader (netfilter-persistent; iptables-services). */
export function firewallLoaderPackages(os: OsFamily): readonly string[] {
  return osPackages[os].firewallLoader;
}

/** The package of the balancer's Node runtime. */
export function nodePackage(os: OsFamily): string {
  return osPackages[os].node;
}

/**
 * Every package apply may install on a host of `os`, whatever the inventory
 * chooses: each role with each NFS server and client, the firewall's boot
 * loader and Node. Sorted, each name once.
 */
export function allPackages(os: OsFamily): string[] {
  const all = new Set<string>([...firewallLoaderPackages(os), nodePackage(os)]);
  const roles: readonly Role[] = ['storage', 'hypervisor'];
  for (const role of roles) {
    for (const server of Object.keys(osPackages[os].nfsServer) as NfsChoice['server'][]) {
      for (const client of Object.keys(osPackages[os].nfsClient) as NfsChoice['client'][]) {
        for (const p of packagesFor(os, role, { server, client })) all.add(p);
      }
    }
  }
  return [...all].sort();
}

/** allPackages('debian') and Prometheus' exporters (tasks/ops/exporters.ts): what the lab's local apt repository must hold. */
export function allDebianPackages(): string[] {
  return [...new Set([...allPackages('debian'), ...DEBIAN_EXPORTER_PACKAGES])].sort();
}

/** The exporters tasks/ops/exporters.ts installs with balancer.prometheus (Debian family only). */
export const DEBIAN_EXPORTER_PACKAGES = ['prometheus-node-exporter', 'prometheus-libvirt-exporter'] as const;

/** Installed packages among `names` (dpkg-query on Debian, rpm -q on RHEL). */
export function installedFact(osFamily: OsFamily, names: readonly string[]): Fact<ReadonlySet<string>> {
  if (osFamily === 'debian') {
    return {
      key: `dpkg:${names.join(',')}`,
      command: `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${sh`${names}`}`,
      parse: parseDpkgQuery,
    };
  }
  return {
    key: `rpm:${names.join(',')}`,
    command: `rpm -q --qf '%{NAME}\\n' ${sh`${names}`}`,
    parse: (r) => parseRpmQuery(names, r),
  };
}

/** `pkg ii ` lines; the second status letter `i` means installed. Unknown names only go to stderr (exit 1). */
export function parseDpkgQuery(result: RunResult): ReadonlySet<string> {
  const installed = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^(\S+) ([a-z])([a-zA-Z ])/.exec(line);
    if (!m) throw new ParseError('dpkg-query output', `unexpected line ${JSON.stringify(line)}`, 'is this a Debian-family host? (os_family in the inventory)');
    if (m[3] === 'i') installed.add((m[1] ?? '').replace(/:.*$/, ''));
  }
  if (result.code !== 0 && !/no packages found matching/.test(result.stderr)) {
    throw new ParseError('dpkg-query output', `exit ${result.code}: ${result.stderr.trim()}`, 'is dpkg working on the host?');
  }
  return installed;
}

/** `rpm -q --qf '%{NAME}\n'`: the name for each installed one, `package X is not installed` for the others. */
export function parseRpmQuery(names: readonly string[], result: RunResult): ReadonlySet<string> {
  const installed = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const l = line.trim();
    if (l === '' || /^package \S+ is not installed$/.test(l)) continue;
    if (!names.includes(l)) throw new ParseError('rpm -q output', `unexpected line ${JSON.stringify(line)}`, 'is this a RHEL-family host? (os_family in the inventory)');
    installed.add(l);
  }
  return installed;
}

/** How long apt waits for the dpkg lock (apt-daily, unattended-upgrades, an operator's apt) before it fails. */
export const APT_LOCK_TIMEOUT_S = 300;

/**
 * apt never asks: noninteractive debconf, and on a changed conffile it keeps
 * the local one (--force-confdef --force-confold: apply writes some of them,
 * e.g. ganesha.conf). It waits for the dpkg lock; `apt-get update` does not
 * honour DPkg::Lock::Timeout for the lists lock, so that is retried (every
 * 10 s, as long as the lock is the reason, up to the same bound).
 */
function aptInstall(missing: readonly string[]): string {
  const opts = `-o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold`;
  const tries = Math.ceil(APT_LOCK_TIMEOUT_S / 10);
  return [
    'export DEBIAN_FRONTEND=noninteractive',
    `hvmctl_install() { apt-get ${opts} install -y -q --no-install-recommends ${sh`${missing}`}; }`,
    'hvmctl_update() {',
    '  i=0',
    `  until out=$(apt-get -o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S} update -q 2>&1); do`,
    `    case $out in *'/var/lib/apt/lists/lock'*) ;; *) printf '%s\\n' "$out" >&2; return 1 ;; esac`,
    `    i=$((i+1)); if [ $i -ge ${tries} ]; then printf '%s\\n' "$out" >&2; return 1; fi`,
    '    sleep 10',
    '  done',
    '}',
    // a stale package index is the usual reason for "unable to locate": update once and retry
    'hvmctl_install || { hvmctl_update && hvmctl_install; }',
  ].join('\n');
}

const installers: Readonly<Record<OsFamily, (missing: readonly string[]) => string>> = {
  debian: aptInstall,
  redhat: (missing) => sh`dnf install -y ${missing}`,
};

/** The script that installs `missing`, non-interactively. */
export function installCommand(osFamily: OsFamily, missing: readonly string[]): string {
  return installers[osFamily](missing);
}

export const packagesTask: Task<{ installed: ReadonlySet<string> }> = {
  name: 'packages',
  tags: ['packages'],
  stage: 'packages',
  applies: () => true,
  facts: (ctx) => ({ installed: installedFact(ctx.host.osFamily, wantedPackages(ctx.inventory, ctx.host)) }),
  plan: (ctx, facts) => {
    const wanted = wantedPackages(ctx.inventory, ctx.host);
    const missing = wanted.filter((p) => !facts.installed.has(p));
    if (missing.length === 0) return { changes: [], reason: `${wanted.length} packages installed` };
    return {
      changes: [{ summary: `install ${missing.join(' ')}`, commands: [{ script: installCommand(ctx.host.osFamily, missing) }] }],
      reason: '',
    };
  },
};

export const packageTasks: readonly Task[] = [packagesTask as Task, servicesTask as Task];
