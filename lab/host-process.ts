// Finding a lab host's processes from the root namespace. lab/supervise.sh
// writes the pid of the host's systemd-nspawn at every boot (nspawn.pid in the
// host's directory); the host's init (its PID 1) is nspawn's child. Both change
// at a reboot, so nothing keeps them: every caller asks again.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LabHost } from './topology.ts';

/** Pure: the parent pid in a /proc/PID/stat line (the comm may hold spaces and parentheses). */
export function parentPid(stat: string): number | undefined {
  const m = /\) \S (\d+) /.exec(stat.slice(stat.lastIndexOf(')') - 1));
  return m ? Number(m[1]) : undefined;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The running supervisor of `host` (lab/supervise.sh), if any. */
export function supervisorPid(host: Pick<LabHost, 'dir'>): number | undefined {
  return readPid(path.join(host.dir, 'supervisor.pid'));
}

/** The host's systemd-nspawn of the current boot, if it runs. */
export function nspawnPid(host: Pick<LabHost, 'dir'>): number | undefined {
  return readPid(path.join(host.dir, 'nspawn.pid'));
}

/** PID (root namespace) of the host's init, or undefined while it is down or between boots. */
export function initPid(host: Pick<LabHost, 'dir'>): number | undefined {
  const nspawn = nspawnPid(host);
  if (nspawn === undefined) return undefined;
  try {
    const children = readFileSync(`/proc/${nspawn}/task/${nspawn}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    if (children.length > 0) return children[0];
  } catch {
    // no /proc/PID/task/PID/children on this kernel: scan
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parentPid(readFileSync(`/proc/${entry}/stat`, 'utf8')) === nspawn) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}
