// The command that asks, before each migration, whether the shared storage
// answers from a hypervisor (balancer/storage-check.ts): one bounded command,
// every value quoted, the same NFS URL apply's `nfs-ls` fact uses.
import { describe, expect, it } from 'vitest';
import { storageCheckCommand } from '../../balancer/storage-check.ts';
import { nfsReachable } from '../../tasks/facts/nfs-reachable.ts';

describe('storageCheckCommand', () => {
  it('qemu client: nfs-ls of the export, bounded, at the URL apply checks', () => {
    const cmd = storageCheckCommand({ client: 'qemu', address: '172.21.3.13', export: '/srv/kvmshared', mount: '/var/lib/libvirt/images/kvmshared' });
    expect(cmd).toBe('timeout -k 2 8 nfs-ls nfs://172.21.3.13/srv/kvmshared >/dev/null');
    expect(nfsReachable('172.21.3.13', '/srv/kvmshared').key).toBe('nfs-ls:nfs://172.21.3.13/srv/kvmshared');
  });
  it('kernel client: the mount point must be NFS; an odd path stays one quoted word', () => {
    const cmd = storageCheckCommand({ client: 'kernel', address: '172.21.3.13', export: '/srv/kvmshared', mount: "/mnt/a b'c" });
    expect(cmd).toContain("stat -f -c %T '/mnt/a b'\\''c'");
  });
});
