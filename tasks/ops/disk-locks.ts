// Disk leases (issue 11): no disk on the shared storage is ever opened
// read-write by two QEMUs, on any two hypervisors. libvirt's own lock manager
// does it (lockd, served by virtlockd), with its lockspace in a directory all
// hypervisors share (nfs.locks.dir): see templates/qemu-lockd.conf.hbs for why
// lockd and how each NFS client mode is covered.
//   storage:    EXPORT/.hvmctl-lockd exists (root, 0700).
//   hypervisor: with nfs.locks.mount, that directory is mounted on the
//               lockspace over the kernel's NFS client (an fstab line, written
//               with the images' by tasks/ops/fstab.ts, which also removes it
//               once nfs.locks.mount is false); the lockspace's files/ directory exists;
//               /etc/libvirt/qemu-lockd.conf is ours (a whole file); and
//               qemu.conf has exactly one `lock_manager = "lockd"` (the rest of
//               qemu.conf is the host's, so it is edited line by line).
// Both files are read by libvirtd when it starts: a change restarts it
// (libvirtd-restart; running guests keep running, libvirtd reconnects to them).
import { isHypervisor, LOCKSPACE_ON_EXPORT, storageHosts, type Inventory } from '../../src/inventory/types.ts';
import { managedFiles } from '../../src/render/managed-files.ts';
import { sh } from '../../src/shell.ts';
import type { Task, TaskResult } from '../engine/types.ts';
import { fileText, textLines } from '../facts/file-text.ts';
import { mounts, type Mount } from '../facts/mounts.ts';
import { pathStat, type PathStat } from '../facts/path-stat.ts';
import { filesTask, writeScript } from './file.ts';
import { planMount } from './mount.ts';
import { TaskCheckError } from './task-error.ts';

export const QEMU_CONF = '/etc/libvirt/qemu.conf';
export const LOCK_MANAGER_LINE = 'lock_manager = "lockd"';


/** The export's lockspace directory on the storage node. */
export function exportLockspace(inv: Inventory): string {
  return `${inv.nfs.export.replace(/\/+$/, '')}/${LOCKSPACE_ON_EXPORT}`;
}

/** The fstab line that mounts the export's lockspace on nfs.locks.dir (nfs.locks.mount). */
export function lockspaceFstabLine(inv: Inventory): string {
  const server = storageHosts(inv)[0];
  if (!server) throw new RangeError('inventory has no storage host');
  return `${server.fqdn}:${exportLockspace(inv)} ${inv.nfs.locks.dir} nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0`;
}

const setting = (line: string): string | undefined => /^\s*([A-Za-z_]+)\s*=/.exec(line)?.[1];

/** Pure: qemu.conf with exactly one uncommented `lock_manager` line, ours. Undefined when already so. */
export function qemuConfWithLockManager(text: string | undefined): string | undefined {
  const lines = textLines(text);
  const ours = lines.filter((l) => setting(l) === 'lock_manager');
  if (ours.length === 1 && ours[0]!.trim().replace(/\s+/g, ' ') === LOCK_MANAGER_LINE) return undefined;
  return `${[...lines.filter((l) => setting(l) !== 'lock_manager'), LOCK_MANAGER_LINE].join('\n')}\n`;
}

export function planLockManager(text: string | undefined): TaskResult {
  const next = qemuConfWithLockManager(text);
  if (next === undefined) return { changes: [], reason: `${QEMU_CONF} has ${LOCK_MANAGER_LINE}` };
  const old = textLines(text).filter((l) => setting(l) === 'lock_manager');
  return {
    changes: [
      {
        summary: old.length === 0 ? `add ${LOCK_MANAGER_LINE} to ${QEMU_CONF}` : `set ${LOCK_MANAGER_LINE} in ${QEMU_CONF} (was ${old.map((l) => l.trim()).join(', ')})`,
        commands: [
          {
            script: writeScript({ path: QEMU_CONF, content: next, mode: 0o600, owner: 'root', group: 'root', notify: ['libvirtd-restart'], tags: ['locks'], template: 'tasks/ops/disk-locks.ts (qemuConfWithLockManager)' }),
            input: next,
          },
        ],
        diff: [...old.map((l) => `-${l}\n`), `+${LOCK_MANAGER_LINE}\n`].join(''),
        notify: ['libvirtd-restart'],
      },
    ],
    reason: '',
  };
}

/** Pure: a directory exists, root's, 0700 (nothing but root needs the leases). */
export function planLockDir(path: string, dir: PathStat | undefined, what: string): TaskResult {
  if (dir === undefined) {
    return { changes: [{ summary: `create ${what} ${path} (0700 root:root)`, commands: [{ script: sh`mkdir -p -m 0700 -- ${path} && chown root:root -- ${path}` }] }], reason: '' };
  }
  if (dir.type !== 'directory') throw new TaskCheckError('E_LOCKS', `${path} exists but is a ${dir.type}, not a directory`, `move it away or set nfs.locks.dir`);
  return { changes: [], reason: `${what} ${path} exists` };
}

export const exportLockspaceTask: Task<{ dir: PathStat | undefined }> = {
  name: 'disk lockspace on the export',
  tags: ['locks', 'nfs'],
  stage: 'storage',
  applies: (host) => host.role === 'storage',
  facts: (ctx) => ({ dir: pathStat(exportLockspace(ctx.inventory)) }),
  plan: (ctx, facts) => planLockDir(exportLockspace(ctx.inventory), facts.dir, 'the lockspace'),
};

/** An fstab line apply wrote for a lockspace: its source is a `.hvmctl-lockd` directory on an export. */
export function isLockspaceLine(line: string): boolean {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return false;
  const source = t.split(/\s+/)[0] ?? '';
  return source.includes(':') && source.replace(/\/+$/, '').endsWith(`/${LOCKSPACE_ON_EXPORT}`);
}

export const lockspaceMountTask: Task<{ mounts: readonly Mount[] }> = {
  name: 'disk lockspace mount',
  tags: ['locks', 'mount'],
  stage: 'hypervisor',
  applies: (host, inv) => isHypervisor(host) && inv.nfs.locks.mount,
  facts: () => ({ mounts }),
  plan: (ctx, facts) => {
    const result = planMount(ctx.inventory.nfs.locks.dir, lockspaceFstabLine(ctx.inventory).split(/\s+/)[0] ?? '', facts.mounts);
    // A new lockspace under libvirtd: it registers its lockspace when it starts.
    return { ...result, changes: result.changes.map((c) => ({ ...c, notify: ['libvirtd-restart' as const] })) };
  },
};

export const lockspaceDirTask: Task<{ dir: PathStat | undefined }> = {
  name: 'disk lockspace',
  tags: ['locks'],
  stage: 'hypervisor',
  applies: isHypervisor,
  facts: (ctx) => ({ dir: pathStat(`${ctx.inventory.nfs.locks.dir}/files`) }),
  plan: (ctx, facts) => {
    const r = planLockDir(`${ctx.inventory.nfs.locks.dir}/files`, facts.dir, 'the lockspace');
    return { ...r, changes: r.changes.map((c) => ({ ...c, notify: ['libvirtd-restart' as const] })) };
  },
};

export const lockdConfigTask: Task = filesTask({
  name: 'disk lock manager config',
  tags: ['locks'],
  stage: 'hypervisor',
  applies: isHypervisor,
  files: (ctx) => managedFiles(ctx.inventory, ctx.host).filter((f) => f.tags.includes('locks')),
});

export const lockManagerTask: Task<{ conf: string | undefined }> = {
  name: 'disk lock manager',
  tags: ['locks'],
  stage: 'hypervisor',
  applies: isHypervisor,
  facts: () => ({ conf: fileText(QEMU_CONF) }),
  plan: (_ctx, facts) => planLockManager(facts.conf),
};

export const diskLockTasks: readonly Task[] = [
  exportLockspaceTask as Task,
  lockspaceMountTask as Task,
  lockspaceDirTask as Task,
  lockdConfigTask,
  lockManagerTask as Task,
];
