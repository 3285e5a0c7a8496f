// Pure: the libvirt domain XML of a lab guest. Its disk is a raw image on the
// storage node's NFS export, opened by QEMU itself (libnfs), which libvirt
// treats as shared storage: live migration needs no --unsafe. No graphics
// (libvirt rejects <graphics type='none'/>; leaving it out is the way), a PS/2
// keyboard for `virsh send-key`, the serial console to a file. QEMU speaks
// NFS as uid/gid 0 (<identity>, which libvirt's schema requires for nfs).
import { leaseXml, xml } from '../src/render/disk-lease.ts';

export interface GuestSpec {
  readonly name: string;
  /** Hypervisor the guest belongs to (balancer "home"), kept in libvirt metadata. */
  readonly home: string;
  readonly storageAddress: string;
  /** Path of the image as the NFS server exports it, e.g. /srv/kvmshared/server1.img. */
  readonly image: string;
  readonly memoryMiB: number;
  readonly accel: 'kvm' | 'tcg';
  /** The shared disk lockspace (nfs.locks.dir): the guest carries a lease there, since libvirt leases
   * a network disk by no path of its own (templates/qemu-lockd.conf.hbs). */
  readonly lockspace?: string;
}

export const HVMCTL_VM_XMLNS = 'https://hvmctl.dev/xmlns/vm/1';

export function guestDomainXml(g: GuestSpec): string {
  return `<domain type='${g.accel === 'kvm' ? 'kvm' : 'qemu'}'>
  <name>${xml(g.name)}</name>
  <metadata>
    <hvmctl:vm xmlns:hvmctl="${HVMCTL_VM_XMLNS}"><home>${xml(g.home)}</home></hvmctl:vm>
  </metadata>
  <memory unit='MiB'>${g.memoryMiB}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${g.lockspace === undefined ? '' : `    ${leaseXml(g.image, g.lockspace)}\n`}    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source protocol='nfs' name='${xml(g.image)}'>
        <host name='${xml(g.storageAddress)}'/>
        <identity user='root' group='root'/>
      </source>
      <target dev='hda' bus='ide'/>
    </disk>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/${xml(g.name)}-serial.log'/>
      <target port='0'/>
    </serial>
    <input type='keyboard' bus='ps2'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}
