// The NFS server on the storage node. The configuration file is a whole
// managed file (/etc/exports for the kernel server, ganesha.conf for
// nfs-ganesha), written by the file task, whose change notifies `exportfs`
// or `ganesha-restart`. These tasks add what a file does not cover: the
// exported directory exists, and the server runs (systemd where PID 1 is
// systemd; otherwise the documented fallback: `rpcbind -w`, then the daemon
// detached from the SSH session).
import type { Inventory, OsFamily } from '../../src/inventory/types.ts';
import { osProfile } from '../../src/os/profiles.ts';
import { managedFiles, nfsMountPort } from '../../src/render/managed-files.ts';
import { sh } from '../../src/shell.ts';
import type { Change, HandlerName, Task, TaskResult } from '../engine/types.ts';
import { type PathStat, pathStat } from '../facts/path-stat.ts';
import { initProcess, isSystemd, processIds } from '../facts/process.ts';
import { type UnitState, unitState } from '../facts/systemd-unit.ts';
import { ganeshaReadyScript, ganeshaStartScript } from '../handlers.ts';
import { filesTask, octal } from './file.ts';
import { TaskCheckError } from './task-error.ts';

const isStorage = (host: { role: string }) => host.role === 'storage';

/** Mode of the exported directory: root's, readable by all (QEMU runs as root and owns the images). */
export const EXPORT_MODE = 0o755;

export const nfsConfigTask: Task = filesTask({
  name: 'nfs server config',
  tags: ['nfs'],
  stage: 'storage',
  applies: isStorage,
  files: (ctx) => managedFiles(ctx.inventory, ctx.host).filter((f) => f.tags.includes('nfs')),
});

interface DirFacts extends Record<string, unknown> {
  dir: PathStat | undefined;
}

/** Pure: the exported directory exists as a directory with EXPORT_MODE, owned by root. */
export function planExportDir(path: string, notify: HandlerName, dir: PathStat | undefined): TaskResult {
  const mode = octal(EXPORT_MODE);
  if (dir === undefined) {
    return {
      changes: [
        { summary: `create ${path} (${mode} root:root)`, commands: [{ script: sh`mkdir -p -m ${mode} -- ${path} && chown root:root -- ${path}` }], notify: [notify] },
      ],
      reason: '',
    };
  }
  if (dir.type !== 'directory') {
    throw new TaskCheckError('E_NFS', `${path} exists but is a ${dir.type}, not a directory`, `move ${path} away or choose another nfs.export`);
  }
  if (dir.mode === EXPORT_MODE && dir.owner === 'root' && dir.group === 'root') {
    return { changes: [], reason: `${path} exists (${mode} root:root)` };
  }
  const change: Change = {
    summary: `set ${path} to ${mode} root:root (was ${octal(dir.mode)} ${dir.owner}:${dir.group})`,
    commands: [{ script: sh`chown root:root -- ${path} && chmod ${mode} -- ${path}` }],
  };
  return { changes: [change], reason: '' };
}

export const exportDirTask: Task<DirFacts> = {
  name: 'nfs export directory',
  tags: ['nfs'],
  stage: 'storage',
  applies: isStorage,
  facts: (ctx) => ({ dir: pathStat(ctx.inventory.nfs.export) }),
  plan: (ctx, facts) =>
    planExportDir(ctx.inventory.nfs.export, ctx.inventory.nfs.server === 'ganesha' ? 'ganesha-restart' : 'exportfs', facts.dir),
};

interface ServiceFacts extends Record<string, unknown> {
  init: string;
  unit: UnitState | undefined;
  daemon: readonly number[];
  rpcbind: readonly number[];
}

/** Pure: nfs-ganesha runs (systemd unit enabled and active, or the daemon started by hand). */
export function planGanesha(facts: ServiceFacts): TaskResult {
  if (isSystemd(facts.init)) {
    const unit = facts.unit;
    if (unit === undefined) throw new TaskCheckError('E_NFS', 'PID 1 is systemd but the unit state was not read', 'run apply again');
    if (unit.enabled && unit.active) return { changes: [], reason: 'nfs-ganesha enabled and active' };
    return {
      changes: [{ summary: `${unit.enabled ? '' : 'enable and '}start nfs-ganesha`, commands: [{ script: `systemctl enable --now nfs-ganesha\n${ganeshaReadyScript()}` }] }],
      reason: '',
    };
  }
  if (facts.daemon.length > 0 && facts.rpcbind.length > 0) {
    return { changes: [], reason: `ganesha.nfsd running (pid ${facts.daemon.join(', ')}), rpcbind running (no systemd)` };
  }
  if (facts.daemon.length > 0) {
    // NFSv3 clients need rpcbind; ganesha registers with it at start, so restart after rpcbind.
    return {
      changes: [
        { summary: 'start rpcbind (no systemd), then restart ganesha to register with it', commands: [{ script: 'rpcbind -w </dev/null >/dev/null 2>&1' }], notify: ['ganesha-restart'] },
      ],
      reason: '',
    };
  }
  return {
    changes: [{ summary: `start ${facts.rpcbind.length > 0 ? '' : 'rpcbind and '}ganesha.nfsd (no systemd)`, commands: [{ script: `${ganeshaStartScript()}\n${ganeshaReadyScript()}` }] }],
    reason: '',
  };
}

export const ganeshaServiceTask: Task<ServiceFacts> = {
  name: 'nfs-ganesha running',
  tags: ['nfs'],
  stage: 'storage',
  applies: (host, inv: Inventory) => isStorage(host) && inv.nfs.server === 'ganesha',
  facts: () => ({ init: initProcess, unit: unitState('nfs-ganesha'), daemon: processIds('ganesha.nfsd'), rpcbind: processIds('rpcbind') }),
  plan: (_ctx, facts) => planGanesha(facts),
};

interface KernelFacts extends Record<string, unknown> {
  init: string;
  unit: UnitState | undefined;
  mountd: readonly number[];
}

/** The kernel server's unit, from the OS profile (never an alias, which `systemctl is-enabled` reports as `alias`). */
export function kernelNfsUnit(osFamily: OsFamily): string {
  return osProfile(osFamily).nfsServerUnit;
}

/** Pure: the kernel NFS server runs (systemd unit, or rpc.nfsd + rpc.mountd on the fixed port). */
export function planKernelNfs(unitName: string, mountPort: number, facts: KernelFacts): TaskResult {
  if (isSystemd(facts.init)) {
    const unit = facts.unit;
    if (unit === undefined) throw new TaskCheckError('E_NFS', 'PID 1 is systemd but the unit state was not read', 'run apply again');
    if (unit.enabled && unit.active) return { changes: [], reason: `${unitName} enabled and active` };
    return { changes: [{ summary: `enable and start ${unitName}`, commands: [{ script: sh`systemctl enable --now ${unitName}` }], notify: ['exportfs'] }], reason: '' };
  }
  if (facts.mountd.length > 0) return { changes: [], reason: `rpc.mountd running (pid ${facts.mountd.join(', ')}, no systemd)` };
  return {
    changes: [
      {
        summary: 'start rpcbind, nfsd and rpc.mountd (no systemd)',
        commands: [
          {
            script: [
              'set -e',
              'pgrep -x rpcbind >/dev/null || rpcbind -w </dev/null >/dev/null 2>&1',
              'rpc.nfsd 8',
              sh`rpc.mountd --port ${mountPort} </dev/null >/dev/null 2>&1`,
            ].join('\n'),
          },
        ],
        notify: ['exportfs'],
      },
    ],
    reason: '',
  };
}

export const kernelNfsServiceTask: Task<KernelFacts> = {
  name: 'nfs kernel server running',
  tags: ['nfs'],
  stage: 'storage',
  applies: (host, inv: Inventory) => isStorage(host) && inv.nfs.server === 'kernel',
  facts: (ctx) => ({ init: initProcess, unit: unitState(kernelNfsUnit(ctx.host.osFamily)), mountd: processIds('rpc.mountd') }),
  plan: (ctx, facts) => planKernelNfs(kernelNfsUnit(ctx.host.osFamily), nfsMountPort, facts),
};

export const nfsServerTasks: readonly Task[] = [
  exportDirTask as Task,
  nfsConfigTask,
  ganeshaServiceTask as Task,
  kernelNfsServiceTask as Task,
];
