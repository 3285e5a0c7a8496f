// The URL of an NFS export for libnfs (`nfs-ls`, QEMU's own NFS client), said
// once: apply's reachability fact and the balancer's check before a migration
// ask the same export the same way.

/** nfs://ADDRESS/EXPORT (a relative export path gets its leading slash). */
export function nfsUrl(address: string, exportPath: string): string {
  return `nfs://${address}${exportPath.startsWith('/') ? '' : '/'}${exportPath}`;
}
