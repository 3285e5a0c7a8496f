// Does the shared storage answer from a hypervisor? Checked from both ends just
// before each migration, cheaply (one bounded command), so that a degraded
// export stops migrations instead of leaving a VM half-moved:
//   - nfs.client qemu: `nfs-ls nfs://ADDRESS/EXPORT` (libnfs, the client QEMU itself uses);
//   - nfs.client kernel: `stat -f` of the mount point must say nfs.
// The host the agent runs on is checked locally; the others over the root SSH
// trust apply sets up (as host-files.ts reads their /proc): both through the
// peer's connector (peers.ts). Every value in the command line is quoted.
import { nfsUrl } from '../src/nfs-url.ts';
import { sh } from '../src/shell.ts';
import type { AgentConfig } from './config.ts';
import type { Peers } from './peers.ts';

/** Seconds a check may take on the host before it counts as "does not answer". */
export const STORAGE_CHECK_SECONDS = 8;

export function storageCheckCommand(storage: NonNullable<AgentConfig['storage']>): string {
  const bound = String(STORAGE_CHECK_SECONDS);
  if (storage.client === 'qemu') {
    return sh`timeout -k 2 ${bound} nfs-ls ${nfsUrl(storage.address, storage.export)} >/dev/null`;
  }
  return sh`t=$(timeout -k 2 ${bound} stat -f -c %T ${storage.mount}) || exit $?; case "$t" in nfs*) exit 0;; esac; echo ${storage.mount} "is not an NFS mount (its file system is $t)" >&2; exit 3`;
}

/** (host) => why the storage does not answer from it, or undefined when it does. */
export function createStorageCheck(config: AgentConfig, peers: Peers): ((host: string) => Promise<string | undefined>) | undefined {
  const storage = config.storage;
  if (!storage) return undefined;
  const command = storageCheckCommand(storage);
  const what = storage.client === 'qemu' ? `nfs-ls of ${storage.address}:${storage.export}` : `the NFS mount ${storage.mount}`;
  return async (host) => {
    const peer = peers(host);
    if (!peer) return `${host} is not in the balancer configuration`;
    const r = await peer.run(command, { timeoutMs: (STORAGE_CHECK_SECONDS + 12) * 1000 });
    if (r.code === 0) return undefined;
    if (r.timedOut || r.code === 124 || r.code === 137) return `${what} gave no answer within ${STORAGE_CHECK_SECONDS} s`;
    if (r.code === 255 && host !== config.self) return `${host} did not answer over SSH: ${r.stderr.trim().split('\n').pop() ?? ''}`;
    return `${what} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' | ') || r.stdout.trim().slice(0, 200)}`;
  };
}
