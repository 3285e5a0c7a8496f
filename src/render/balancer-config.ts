// The balancer's configuration file (/etc/hvmctl/balancer.json), rendered from
// the inventory: the balancer on the host reads this and never the inventory.
import { storageHosts, type BalancerSpec, type Inventory, type Role } from '../inventory/types.ts';
import { PEER_LIBVIRT_URI } from '../libvirt-uri.ts';
import { balancerPaths } from './balancer-paths.ts';

export interface BalancerFileHost {
  readonly name: string;
  readonly address: string;
  readonly fqdn: string;
  readonly role: Role;
  /** The port its sshd listens on (the inventory's sshd port, not where apply connects). */
  readonly sshPort: number;
}

/** The JSON document in balancerPaths.config: the inventory's balancer section (the named
 * strategy and its own settings, the common settings) plus the hosts and paths. */
export type BalancerFileConfig = BalancerSpec & BalancerFileExtras;

interface BalancerFileExtras {
  /** Constant marker: the file is managed by hvmctl. */
  readonly managedBy: string;
  /** Every cluster member, storage first, then hypervisors in inventory order. */
  readonly hosts: readonly BalancerFileHost[];
  /** libvirt URI template of a hypervisor, `{fqdn}` and `{port}` (its sshd port) replaced. */
  readonly libvirtUri: string;
  readonly log: string;
  readonly jsonl: string;
  readonly state: string;
  readonly lock: string;
  /** drain/undrain made at run time (on the storage the homes share). */
  readonly drains: string;
  /** The cluster lease: whichever home's agent holds this lock acts this run. */
  readonly leader: string;
  /** Where the VM disks live: the agent checks from both ends, before each migration, that it answers. */
  readonly storage?: { readonly client: 'kernel' | 'qemu'; readonly address: string; readonly export: string; readonly mount: string };
}

export function balancerConfig(inv: Inventory): BalancerFileConfig {
  const storage = storageHosts(inv)[0];
  const shared = `${inv.nfs.locks.dir.replace(/\/+$/, '')}/balancer`;
  return {
    managedBy: 'hvmctl (src/render/balancer-config.ts): local changes are overwritten by `hvmctl apply`',
    ...inv.balancer,
    hosts: inv.hosts.map((h) => ({ name: h.name, address: h.address, fqdn: h.fqdn, role: h.role, sshPort: h.sshdPort })),
    // Root's cluster key pair (installed by apply) opens the peers' libvirt,
    // on the port their sshd listens on.
    libvirtUri: PEER_LIBVIRT_URI,
    log: balancerPaths.log,
    jsonl: balancerPaths.jsonl,
    // The state, the drains and the cluster lease are on the storage every hypervisor shares
    // (the disk lockspace's directory): whichever home's agent holds the lease this run reads
    // the windows and drains the last one wrote, and a drain made on one home reaches them all.
    state: `${shared}/state.json`,
    drains: `${shared}/drains.json`,
    leader: `${shared}/leader.lock`,
    lock: balancerPaths.lock,
    ...(storage ? { storage: { client: inv.nfs.client, address: storage.address, export: inv.nfs.export, mount: inv.nfs.mount } } : {}),
  };
}
