// The disk lease of an image QEMU opens over NFS itself (nfs.client: qemu):
// libvirt's lockd leases file disks by their path, but a network disk by
// nothing, so such a guest carries a <lease> named after its image. The qemu
// hook apply installs (templates/libvirt-hook-leases.sh.hbs) computes the same
// key and refuses a guest without it; keep the two in step.

/** The image's path on the export without its leading /, each % written %25 and each / %2F. */
export function leaseKey(image: string): string {
  return image.replace(/^\/+/, '').replaceAll('%', '%25').replaceAll('/', '%2F');
}

/** Text made safe for an XML attribute (quoted with ' or ") or element. */
export function xml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** The <lease> element for `image` in the lockspace `dir` (nfs.locks.dir). */
export function leaseXml(image: string, dir: string): string {
  return `<lease><lockspace>files</lockspace><key>${xml(leaseKey(image))}</key><target path='${xml(dir)}'/></lease>`;
}
