// One run at a time: an exclusive create of the lock file holding our pid.
// A lock whose process is gone (crash, reboot, SIGKILL) is stale and taken over.
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LockResult = { readonly acquired: true; release(): void } | { readonly acquired: false; readonly holder: number };

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(path: string, pid: number = process.pid, alive: (pid: number) => boolean = isProcessAlive): LockResult {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return {
        acquired: true,
        release: () => {
          // Only remove it if it is still ours.
          if (readHolder(path) === pid) unlinkSync(path);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    if (holder !== undefined && holder !== pid && alive(holder)) return { acquired: false, holder };
    // Stale (holder gone, or a half-written file): remove and try again.
    try {
      unlinkSync(path);
    } catch {
      /* someone else removed it first */
    }
  }
  const holder = readHolder(path);
  return { acquired: false, holder: holder ?? 0 };
}

function readHolder(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
