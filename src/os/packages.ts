// The one list of every OS package name apply installs, per OS family and
// role (the names are the family's profile, profiles.ts); pure, so apply's
// packages task (tasks/ops/packages.ts) and the lab's local apt repository
// (lab/packages.ts) read the same list:
//   - wantedPackages(inv, host): what the packages task installs on a host:
//     the common tools, the network backend's, the role's;
//   - firewallLoaderPackages / nodePackage: what the firewall's boot-time
//     loader task and the balancer's node task install;
//   - allPackages(os) / allDebianPackages(): the union over roles, NFS
//     choices and network backends, plus those two (the lab builds its local
//     apt repository from it).
import type { HostSpec, Inventory, NetworkBackend, OsFamily, Role } from '../inventory/types.ts';
import { osProfile, osProfiles } from './profiles.ts';

type NfsChoice = Inventory['nfs'];

/** Pure: the packages a host of `role` needs, by OS family, network backend and the inventory's NFS choices. */
export function packagesFor(os: OsFamily, role: Role, nfs: Pick<NfsChoice, 'server' | 'client'>, backend: NetworkBackend = osProfile(os).network.defaultBackend): string[] {
  const p = osProfile(os);
  const network = p.network.packages[backend] ?? [];
  return role === 'storage' ? [...p.common, ...network, ...p.nfs.server[nfs.server]] : [...p.common, ...network, ...p.hypervisor, ...p.nfs.client[nfs.client]];
}

/** Pure: the packages `host` needs (what the packages task installs). */
export function wantedPackages(inv: Inventory, host: HostSpec): string[] {
  const base = packagesFor(host.osFamily, host.role, inv.nfs, host.networkBackend);
  // The disk lockspace is mounted over the kernel's NFS client even where QEMU opens the images itself.
  const lockspace = host.role === 'hypervisor' && inv.nfs.locks.mount ? osProfile(host.osFamily).nfs.client.kernel : [];
  return [...new Set([...base, ...lockspace])];
}

/** The packages of the firewall's boot-time loader (netfilter-persistent; iptables-services). */
export function firewallLoaderPackages(os: OsFamily): readonly string[] {
  return osProfile(os).firewallLoader.packages;
}

/** The package of the balancer's Node runtime. */
export function nodePackage(os: OsFamily): string {
  return osProfile(os).node;
}

/**
 * Every package apply may install on a host of `os`, whatever the inventory
 * chooses: each role with each NFS server and client and each network
 * backend the family offers, the firewall's boot loader and Node. Sorted,
 * each name once.
 */
export function allPackages(os: OsFamily): string[] {
  const p = osProfile(os);
  const all = new Set<string>([...firewallLoaderPackages(os), nodePackage(os)]);
  const roles: readonly Role[] = ['storage', 'hypervisor'];
  const backends = (Object.keys(p.network.packages) as NetworkBackend[]).filter((b) => p.network.packages[b] !== null);
  for (const role of roles) {
    for (const server of Object.keys(p.nfs.server) as NfsChoice['server'][]) {
      for (const client of Object.keys(p.nfs.client) as NfsChoice['client'][]) {
        for (const backend of backends) for (const name of packagesFor(os, role, { server, client }, backend)) all.add(name);
      }
    }
  }
  return [...all].sort();
}

/** allPackages('debian') and Prometheus' exporters (tasks/ops/exporters.ts): what the lab's local apt repository must hold. */
export function allDebianPackages(): string[] {
  return [...new Set([...allPackages('debian'), ...(osProfiles.debian.prometheusExporters?.packages ?? [])])].sort();
}
