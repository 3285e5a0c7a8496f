import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, isProcessAlive } from '../../balancer/lock.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvmctl-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('lock', () => {
  it('is held by the kernel for an open descriptor: a second taker is refused and told the holder; release frees it', () => {
    const path = join(dir, 'run', 'b.lock');
    const lock = acquireLock(path, 4242);
    expect(lock.acquired).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('4242\n');
    // Another open file description, even in this process, conflicts (flock is per description).
    expect(acquireLock(path, 4343)).toEqual({ acquired: false, holder: 4242 });
    if (lock.acquired) lock.release();
    const again = acquireLock(path, 4343);
    expect(again.acquired).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('4343\n');
    if (again.acquired) again.release();
  });

  it('a file left by a dead run, a live-looking reused pid or garbage does not block it: only a held lock does', () => {
    const path = join(dir, 'b.lock');
    writeFileSync(path, `${process.pid}\n`); // a "holder" that is alive (this very process), but holds no lock
    const a = acquireLock(path, 5000);
    expect(a.acquired).toBe(true);
    if (a.acquired) a.release();
    writeFileSync(path, 'garbage');
    const b = acquireLock(path, 5001);
    expect(b.acquired).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('5001\n');
    if (b.acquired) b.release();
  });

  it('a holder killed with SIGKILL leaves the lock free', async () => {
    const path = join(dir, 'b.lock');
    const holder = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lock-worker.ts', import.meta.url)), 'hold', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => holder.stdout!.once('data', resolve)); // "held"
    expect(acquireLock(path, 1)).toEqual({ acquired: false, holder: holder.pid });
    const exited = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await exited;
    const after = acquireLock(path, 2);
    expect(after.acquired).toBe(true);
    if (after.acquired) after.release();
  }, 60_000);

  it('16 processes taking it together, 200 rounds each: never two inside at once', async () => {
    const path = join(dir, 'b.lock');
    const inside = join(dir, 'inside');
    const workers = Array.from({ length: 16 }, () =>
      spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lock-worker.ts', import.meta.url)), 'race', path, inside, '200'], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const results = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ acquired: number; busy: number; overlaps: number }>((resolve, reject) => {
            let out = '';
            w.stdout!.on('data', (d: Buffer) => (out += d.toString()));
            w.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { acquired: number; busy: number; overlaps: number }) : reject(new Error(`worker exited ${code}: ${out}`))));
          }),
      ),
    );
    const sum = (k: 'acquired' | 'busy' | 'overlaps') => results.reduce((n, r) => n + r[k], 0);
    expect(sum('acquired') + sum('busy')).toBe(16 * 200);
    expect(sum('acquired')).toBeGreaterThan(0);
    expect(sum('busy'), 'the workers never met: the test proved nothing').toBeGreaterThan(0);
    expect(sum('overlaps')).toBe(0);
  }, 240_000);

  it('knows live and dead processes', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 22 + 12345)).toBe(false);
  });
});
