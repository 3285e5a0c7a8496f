// `hvmctl lab vms`: server1..3 on the first hypervisor, disks on the storage
// node's export. Needs the export to be up (`hvmctl apply` configures it), so
// it first lists the export from the hypervisor with nfs-ls, as QEMU will
// reach it. Idempotent: a guest already running anywhere is left alone.
import path from 'node:path';
import type { Inventory } from '../src/inventory/types.ts';
import { VIRSH } from '../src/libvirt-uri.ts';
import { sh } from '../src/shell.ts';
import { hostEntry, runInHost } from './enter.ts';
import type { HostEntry } from './enter.ts';
import { guestDomainXml } from './guest-domain.ts';
import { guestImage } from './guest-image.ts';
import { LabError } from './lab-error.ts';
import type { LabHostState, LabState } from './lab-record.ts';

export const GUEST_NAMES = ['server1', 'server2', 'server3'] as const;

export interface GuestPlacement {
  readonly name: string;
  /** Hypervisor running it, or undefined when it runs nowhere. */
  readonly host: string | undefined;
  readonly state: string;
}

export function labRoles(state: LabState): { storage: LabHostState; hypervisors: LabHostState[] } {
  const storage = state.hosts.find((h) => h.role === 'storage');
  const hypervisors = state.hosts.filter((h) => h.role === 'hypervisor');
  if (!storage || hypervisors.length === 0) {
    throw new LabError('E_LAB_INVENTORY', 'the lab needs a storage node and at least one hypervisor', { hint: `check ${state.inventory}` });
  }
  return { storage, hypervisors };
}

/** Where each guest is active (running or paused), asking every hypervisor. */
export function locateGuests(state: LabState, names: readonly string[]): GuestPlacement[] {
  const { hypervisors } = labRoles(state);
  const seen = new Map<string, GuestPlacement>();
  for (const h of hypervisors) {
    const r = runInHost(hostEntry(state, h), `${VIRSH} list --all | tail -n +3`, { timeoutMs: 20_000 });
    for (const line of r.stdout.split('\n')) {
      const m = line.trim().match(/^(\S+)\s+(\S+)\s+(.+)$/);
      if (!m || !names.includes(m[2]!)) continue;
      const name = m[2]!;
      const st = m[3]!.trim();
      const active = m[1] !== '-';
      if (active) seen.set(name, { name, host: h.name, state: st });
      else if (!seen.has(name)) seen.set(name, { name, host: undefined, state: `${st} (defined on ${h.name})` });
    }
  }
  return names.map((name) => seen.get(name) ?? { name, host: undefined, state: 'undefined' });
}

export async function labVms(state: LabState, inv: Inventory, progress: (line: string) => void, options: { nfsWaitMs?: number } = {}): Promise<GuestPlacement[]> {
  const { storage, hypervisors } = labRoles(state);
  const home = hypervisors[0]!;
  const exportUrl = `nfs://${storage.address}${inv.nfs.export}`;
  // A freshly started NFS server answers after a moment (ganesha's start-up
  // and grace period), so ask again for a while before giving up.
  const deadline = Date.now() + (options.nfsWaitMs ?? 5_000);
  const onHome = hostEntry(state, home);
  let probe = runInHost(onHome, sh`nfs-ls ${exportUrl}`, { timeoutMs: 20_000 });
  while (probe.code !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    probe = runInHost(onHome, sh`nfs-ls ${exportUrl}`, { timeoutMs: 20_000 });
  }
  if (probe.code !== 0) {
    throw new LabError('E_LAB_NFS', `${home.name} cannot list the NFS export ${exportUrl} (${(probe.stderr || probe.stdout).trim().split('\n').slice(-1)[0] ?? ''})`, {
      hint: 'the export is made by `hvmctl apply` (it configures nfs-ganesha on the storage node); run it first',
    });
  }
  progress(`nfs: ${home.name} lists ${exportUrl}`);

  const placements = locateGuests(state, GUEST_NAMES);
  for (const p of placements) {
    if (p.host) {
      progress(`${p.name}: already ${p.state} on ${p.host}`);
      continue;
    }
    const image = path.posix.join(inv.nfs.export, `${p.name}.img`);
    // The disk is written on the storage node, as its operator would put it in the export.
    const wrote = mustInHost(
      hostEntry(state, storage),
      sh`if [ -e ${image} ]; then echo kept; else base64 -d > ${`${image}.tmp`} && chmod 0644 ${`${image}.tmp`} && mv ${`${image}.tmp`} ${image} && echo wrote; fi`,
      guestImage().toString('base64'),
    );
    if (wrote.trim() === 'wrote') progress(`${p.name}: wrote disk image ${storage.name}:${image}`);
    if (p.state === 'undefined') {
      const lockspace = inv.nfs.locks.dir;
      const domain = guestDomainXml({ name: p.name, home: home.name, storageAddress: storage.address, image, memoryMiB: 32, accel: state.accel, lockspace });
      // Its lease (the hook apply installs creates the lease's file when the guest starts).
      mustInHost(onHome, `f=$(mktemp) && cat >"$f" && ${VIRSH} define "$f"; rc=$?; rm -f "$f"; exit $rc`, domain);
    }
    mustInHost(onHome, sh`${VIRSH.split(' ')} start ${p.name}`);
    progress(`${p.name}: started on ${home.name}`);
  }
  return locateGuests(state, GUEST_NAMES);
}

export function mustInHost(host: HostEntry, script: string, input?: string): string {
  const r = runInHost(host, script, { input, timeoutMs: 60_000 });
  if (r.code !== 0) {
    throw new LabError('E_LAB_GUEST', `${host.name}: ${script.split('\n')[0]} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`, {
      hint: `look at /var/log/libvirt/qemu/ inside ${host.name}: hvmctl lab exec ${host.name} -- ls /var/log/libvirt/qemu`,
    });
  }
  return r.stdout;
}
