// The libvirt URIs, said once. On a hypervisor its own libvirtd is
// qemu:///system (apply's facts and handlers, the balancer's own host, the
// lab); another hypervisor's is reached over SSH as root, with root's cluster
// key pair (installed by apply), on the port that host's sshd listens on.

/** This host's system libvirtd. */
export const LOCAL_LIBVIRT_URI = 'qemu:///system';

/** Another hypervisor's libvirtd: `{fqdn}` and `{port}` (its sshd port) replaced (`{name}` too). */
export const PEER_LIBVIRT_URI = 'qemu+ssh://root@{fqdn}:{port}/system';

/** virsh on this host's system libvirtd, as the start of a shell command. */
export const VIRSH = `virsh -c ${LOCAL_LIBVIRT_URI}`;
