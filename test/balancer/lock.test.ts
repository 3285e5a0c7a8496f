import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, isProcessAlive } from '../../balancer/lock.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvmctl-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('lock', () => {
  it('is taken by exclusive create, holds the pid, and is released', () => {
    const path = join(dir, 'run', 'b.lock');
    const lock = acquireLock(path, 4242, () => true);
    expect(lock.acquired).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('4242\n');
    const second = acquireLock(path, 4343, () => true);
    expect(second).toEqual({ acquired: false, holder: 4242 });
    if (lock.acquired) lock.release();
    expect(existsSync(path)).toBe(false);
    expect(acquireLock(path, 4343, () => true).acquired).toBe(true);
  });
  it('takes over a lock whose holder is gone, or that holds garbage', () => {
    const path = join(dir, 'b.lock');
    writeFileSync(path, '4242\n');
    expect(acquireLock(path, 5000, (pid) => pid !== 4242).acquired).toBe(true);
    writeFileSync(path, 'garbage');
    expect(acquireLock(path, 5001, () => true).acquired).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('5001\n');
  });
  it('does not release a lock someone else took over', () => {
    const path = join(dir, 'b.lock');
    const lock = acquireLock(path, 6000, () => true);
    writeFileSync(path, '7000\n');
    if (lock.acquired) lock.release();
    expect(readFileSync(path, 'utf8')).toBe('7000\n');
  });
  it('knows live and dead processes', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 22 + 12345)).toBe(false);
  });
});
