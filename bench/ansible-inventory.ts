// The Ansible inventory (INI) for bench/ansible/playbook.yml: the same hosts,
// addresses, SSH user, key and pinned known_hosts as the hvmctl inventory.
import type { HostSpec, Inventory } from '../src/inventory/types.ts';
import { balancerHosts, hypervisors, storageHosts } from '../src/inventory/types.ts';

export function ansibleInventory(inv: Inventory, renderDir: string): string {
  const line = (h: HostSpec) => `${h.name} ansible_host=${h.sshHost} ansible_user=${inv.ssh.user} ansible_port=${h.sshPort}`;
  return [
    '[storage]',
    ...storageHosts(inv).map(line),
    '[hypervisors]',
    ...hypervisors(inv).map(line),
    '[balancer]',
    ...balancerHosts(inv.balancer),
    '[all:vars]',
    `ansible_ssh_private_key_file=${inv.ssh.identity}`,
    `ansible_ssh_common_args='-o UserKnownHostsFile=${inv.ssh.knownHosts} -o StrictHostKeyChecking=yes'`,
    `render_dir=${renderDir}`,
    `nfs_export=${inv.nfs.export}`,
    `pool_name=${inv.pool.name}`,
    `pool_path=${inv.pool.path}`,
    `domain=${inv.cluster.domain}`,
    '',
  ].join('\n');
}
