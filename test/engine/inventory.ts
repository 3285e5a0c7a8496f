// A small validated-looking inventory for engine tests (the loader has its own tests).
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';

function host(name: string, role: HostSpec['role'], last: number): HostSpec {
  return {
    name,
    fqdn: `${name}.localdomain`,
    role,
    address: `172.21.3.${last}`,
    mac: `52:54:00:15:03:${last.toString(16).padStart(2, '0')}`,
    interface: 'eth0',
    osFamily: 'debian',
    networkBackend: 'ifupdown',
    sshHost: `172.21.3.${last}`,
    sshPort: 22,
    sshdPort: 22,
  };
}

export const testInventory: Inventory = {
  file: '/test/inventory.yaml',
  cluster: {
    domain: 'localdomain',
    network: '172.21.3.0/26',
    prefix: 26,
    netmask: '255.255.255.192',
    networkAddress: '172.21.3.0',
    broadcast: '172.21.3.63',
    gateway: '172.21.3.1',
    bridge: 'br0',
  },
  ssh: { user: 'root', port: 22, identity: '/root/.ssh/id_ed25519', knownHosts: '/root/.ssh/known_hosts', clusterKeyType: 'ed25519' },
  hosts: [host('kvmstorage', 'storage', 13), host('kvmnode1', 'hypervisor', 10), host('kvmnode2', 'hypervisor', 11), host('kvmnode3', 'hypervisor', 12)],
  nfs: { server: 'ganesha', client: 'qemu', export: '/srv/kvmshared', mount: '/var/lib/libvirt/images/kvmshared', locks: { dir: '/var/lib/hvmctl/lockd', mount: true } },
  pool: { name: 'default', path: '/var/lib/libvirt/images/kvmshared' },
  firewall: { backend: 'auto', migrationPorts: [49152, 49215], libvirtPorts: [16509], nfsPorts: [111, 2049, 20048] },
  balancer: {
    strategy: 'home',
    home: { hosts: ['kvmnode1'], helpers: ['kvmnode2', 'kvmnode3'], high: 80, overloadWindow: 2, low: 50, calmWindow: 3, cooldown: 600 },
    maxMigrationsPerRun: 1,
    migrationTimeout: 120,
    sampleSeconds: 5,
    cpuSource: 'procstat',
    schedule: '* * * * *',
    pinned: [],
    drained: [],
  },
};
