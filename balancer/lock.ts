// One run at a time: a lock the kernel holds for the life of the process.
// The lock file is opened, and flock(LOCK_EX|LOCK_NB) is taken on that open
// file description by flock(1) (util-linux, on every Debian and RHEL host),
// which is handed the descriptor as its fd 3 and exits at once: a flock lock
// belongs to the open file description, which this process keeps open, so
// the lock is held until release() closes it or the process ends in any way
// (a crash, SIGKILL, a reboot). Node has no flock() of its own.
//   - No pid is trusted: a reused pid, or a half-written file, changes
//     nothing. The pid written in the file is only for people ("held by").
//   - The file is never removed: removing it would let a process that opened
//     the old file and one that creates a new one both hold "the" lock.
// The former lock (an exclusive create, then the pid written) overlapped in
// 11 of 60 rounds of 16 processes, and a reused pid blocked it forever.
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { HvmError } from '../src/errors.ts';
import { ensureOwnDirectorySync, openOwnFile } from './safe-file.ts';

export type LockResult =
  | { readonly acquired: true; release(): void }
  /** `owner`: what the holder wrote after its pid (the cluster lease: its host). */
  | { readonly acquired: false; readonly holder: number; readonly owner?: string };

/** flock(1)'s exit status when the lock is held elsewhere (-E). */
const BUSY = 75;

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the lock at `path` without waiting. `pid` is written into the file for
 * people to read (the holder another process reports); it decides nothing.
 */
export function acquireLock(path: string, pid: number = process.pid, owner?: string): LockResult {
  ensureOwnDirectorySync(dirname(path));
  // r+ would fail on a missing file and w would truncate the holder's pid: open for appending,
  // create if missing; never through a link (the cluster lease is on the shared storage), and
  // 0600: flock needs only a descriptor, so a file others can open is one they can hold forever.
  const fd = openOwnFile(path);
  let ok = false;
  try {
    const r = spawnSync('flock', ['--nonblock', '--conflict-exit-code', String(BUSY), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    if (r.error) throw new HvmError('E_LOCK', `cannot run flock(1) for the lock ${path}: ${r.error.message}`, { hint: 'install util-linux' });
    if (r.status === BUSY) {
      const held = readHolder(path);
      return { acquired: false, holder: held?.pid ?? 0, ...(held?.owner ? { owner: held.owner } : {}) };
    }
    if (r.status !== 0) throw new HvmError('E_LOCK', `flock(1) on ${path} exited ${r.status}: ${r.stderr.toString().trim()}`);
    ftruncateSync(fd, 0);
    writeSync(fd, owner === undefined ? `${pid}\n` : `${pid} ${owner}\n`);
    ok = true;
  } finally {
    if (!ok) closeSync(fd);
  }
  let released = false;
  return {
    acquired: true,
    release: () => {
      if (released) return;
      released = true;
      closeSync(fd); // the kernel drops the lock with the last descriptor of it
    },
  };
}

function readHolder(path: string): { pid: number; owner: string | undefined } | undefined {
  try {
    const [first, ...rest] = readFileSync(path, 'utf8').trim().split(/\s+/);
    const n = Number(first);
    return Number.isInteger(n) && n > 0 ? { pid: n, owner: rest.join(' ') || undefined } : undefined;
  } catch {
    return undefined;
  }
}
