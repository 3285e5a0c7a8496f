// The shared storage on each hypervisor.
//   nfs.client kernel: an /etc/fstab line for the mount point (written by
//     tasks/ops/fstab.ts, from the pure helpers here: edited line by line, the
//     rest of fstab is the host's; a line for the same mount point is
//     replaced, duplicates of it removed) and the mount itself.
//   nfs.client qemu: QEMU opens the images over NFS itself (libnfs), so there
//     is nothing to mount: the mount point (the pool's directory) exists and
//     the export answers `nfs-ls` from this host. An unreachable export is
//     not something apply can change here: the task fails and says why.
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { storageHosts } from '../../src/inventory/types.ts';
import { fstabLine } from '../../src/render/managed-files.ts';
import { sh } from '../../src/shell.ts';
import type { Task, TaskResult } from '../engine/types.ts';
import { fileText, textLines } from '../facts/file-text.ts';
import { type Mount, mountAt, mounts, unescapeMountField } from '../facts/mounts.ts';
import { type NfsReachable, nfsReachable } from '../facts/nfs-reachable.ts';
import { nfsUrl } from '../../src/nfs-url.ts';
import { type PathStat, pathStat } from '../facts/path-stat.ts';
import { TaskCheckError } from './task-error.ts';

const isHypervisor = (host: HostSpec) => host.role === 'hypervisor';

function storageOf(inv: Inventory): HostSpec {
  const storage = storageHosts(inv)[0];
  if (!storage) throw new TaskCheckError('E_NFS', 'the inventory has no storage host', 'add one under storage.hosts');
  return storage;
}

const normalize = (line: string) => line.trim().split(/\s+/).join(' ');
export const mountPointOf = (line: string): string | undefined => {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const field = t.split(/\s+/)[1];
  return field === undefined ? undefined : unescapeMountField(field).replace(/(.)\/+$/, '$1');
};

/** Pure: fstab text with exactly one line for the wanted line's mount point, equal to it. Undefined when already so. */
export function fstabWith(text: string | undefined, wanted: string): string | undefined {
  const target = mountPointOf(wanted);
  const lines = textLines(text);
  const same = lines.map((l, i) => [l, i] as const).filter(([l]) => mountPointOf(l) === target);
  if (same.length === 1 && normalize(same[0]?.[0] ?? '') === normalize(wanted)) return undefined;
  const out: string[] = [];
  let placed = false;
  for (const line of lines) {
    if (mountPointOf(line) !== target) out.push(line);
    else if (!placed) {
      out.push(wanted);
      placed = true;
    }
  }
  if (!placed) out.push(wanted);
  return `${out.join('\n')}\n`;
}

/** Pure: fstab without the lines `drop` picks. Undefined when there is none. */
export function fstabWithout(text: string | undefined, drop: (line: string) => boolean): string | undefined {
  const lines = textLines(text);
  const kept = lines.filter((l) => !drop(l));
  if (kept.length === lines.length) return undefined;
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

/** The images' fstab line apply writes for nfs.client kernel: the storage node's export on nfs.mount. */
export function isImagesLine(inv: Inventory, line: string): boolean {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return false;
  const [source = '', , type = ''] = t.split(/\s+/);
  const want = fstabLine(inv).split(/\s+/)[0] ?? '';
  const trim = (s: string) => s.replace(/(.)\/+$/, '$1');
  return type.startsWith('nfs') && trim(source) === trim(want) && mountPointOf(line) === trim(inv.nfs.mount);
}

interface MountFacts extends Record<string, unknown> {
  mounts: readonly Mount[];
}

/** Pure: the export is mounted on the mount point (from fstab); another file system there is a failure. */
export function planMount(mountPoint: string, source: string, list: readonly Mount[]): TaskResult {
  const current = mountAt(list, mountPoint);
  if (current === undefined) {
    return {
      changes: [{ summary: `mount ${source} on ${mountPoint}`, commands: [{ script: sh`mkdir -p -- ${mountPoint} && mount -- ${mountPoint}` }], notify: ['pool-refresh'] }],
      reason: '',
    };
  }
  const [wantHost, wantPath] = source.split(':');
  const [haveHost, havePath] = current.source.split(':');
  const sameExport = (havePath ?? '').replace(/\/+$/, '') === (wantPath ?? '').replace(/\/+$/, '') && haveHost !== undefined && wantHost !== undefined;
  if (!current.fstype.startsWith('nfs') || !sameExport) {
    throw new TaskCheckError(
      'E_MOUNT',
      `${mountPoint} has ${current.source} (${current.fstype}) mounted, not ${source}`,
      `unmount it by hand (stop the guests using it first), then run apply again`,
    );
  }
  // Mounted before the fstab line had them: whoever can write the export (root on the storage
  // node) must not plant a setuid binary or a device node that a local user here could use.
  const have = current.options.split(',');
  const missing = SAFE_OPTIONS.filter((o) => !have.includes(o));
  if (missing.length > 0) {
    return {
      changes: [{ summary: `remount ${mountPoint} ${missing.join(',')}`, commands: [{ script: sh`mount -o ${`remount,${SAFE_OPTIONS.join(',')}`} -- ${mountPoint}` }] }],
      reason: '',
    };
  }
  return { changes: [], reason: `${current.source} mounted on ${mountPoint} (${current.fstype})` };
}

/** What the shared storage is mounted with (the fstab lines say them too): no setuid, no device, no program from it. */
export const SAFE_OPTIONS = ['nosuid', 'nodev', 'noexec'] as const;

export const mountTask: Task<MountFacts> = {
  name: 'nfs mount',
  tags: ['nfs', 'mount'],
  stage: 'hypervisor',
  applies: (host, inv) => isHypervisor(host) && inv.nfs.client === 'kernel',
  facts: () => ({ mounts }),
  plan: (ctx, facts) => {
    const source = fstabLine(ctx.inventory).split(/\s+/)[0] ?? '';
    return planMount(ctx.inventory.nfs.mount, source, facts.mounts);
  },
};

interface QemuFacts extends Record<string, unknown> {
  dir: PathStat | undefined;
  export: NfsReachable;
}

/** Pure: the mount point exists; the export answers nfs-ls (a failed check fails the task, except in check mode on a blank cluster). */
export function planQemuClient(mountPoint: string, url: string, check: boolean, facts: QemuFacts): TaskResult {
  if (facts.dir !== undefined && facts.dir.type !== 'directory') {
    throw new TaskCheckError('E_MOUNT', `${mountPoint} exists but is a ${facts.dir.type}`, `move it away; apply creates the directory`);
  }
  if (!facts.export.ok) {
    if (check) {
      return { changes: [], reason: `${url} not reachable yet (${facts.export.reason}); in check mode the storage node's changes were not made`, skipped: true };
    }
    throw new TaskCheckError(
      'E_NFS_UNREACHABLE',
      `the export ${url} is not reachable from this hypervisor: ${facts.export.reason}`,
      'check that the storage node runs the NFS server (its tasks in this apply), that the firewall there accepts the cluster network, and try `nfs-ls` by hand',
    );
  }
  if (facts.dir === undefined) {
    return { changes: [{ summary: `create ${mountPoint} (export ${url} reachable)`, commands: [{ script: sh`mkdir -p -- ${mountPoint}` }] }], reason: '' };
  }
  return { changes: [], reason: `${url} reachable with nfs-ls; ${mountPoint} exists (QEMU opens the images over NFS itself)` };
}

export const qemuClientTask: Task<QemuFacts> = {
  name: 'nfs export reachable',
  tags: ['nfs', 'mount'],
  stage: 'hypervisor',
  applies: (host, inv) => isHypervisor(host) && inv.nfs.client === 'qemu',
  facts: (ctx) => ({
    dir: pathStat(ctx.inventory.nfs.mount),
    export: nfsReachable(storageOf(ctx.inventory).address, ctx.inventory.nfs.export),
  }),
  plan: (ctx, facts) =>
    planQemuClient(ctx.inventory.nfs.mount, nfsUrl(storageOf(ctx.inventory).address, ctx.inventory.nfs.export), ctx.check, facts),
};

/** The fstab line itself is tasks/ops/fstab.ts's (one task owns the file). */
export const mountTasks: readonly Task[] = [mountTask as Task, qemuClientTask as Task];
