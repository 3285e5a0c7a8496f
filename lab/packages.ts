// The packages of the lab's local apt repository: everything apply may
// install on a Debian host, whatever the inventory chooses (NFS server and
// client, roles), so that apply's package stage installs for real from it.
// TEMPORARY list while tasks/ops/packages.ts grows the function that owns it.
export function labRepoPackages(): string[] {
  return [
    'iptables', 'procps', 'nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind', 'nfs-kernel-server', 'nfs-common',
    'libvirt-daemon', 'libvirt-daemon-driver-qemu', 'libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86', 'qemu-utils',
    'qemu-block-extra', 'libnfs-utils', 'sysstat', 'openssh-client', 'cron', 'nodejs', 'iptables-persistent', 'netfilter-persistent',
    'bridge-utils', 'libxml2-utils',
  ];
}
