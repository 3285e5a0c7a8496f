import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOOT_CODE, guestImage, loadKey } from '../../lab/guest-image.ts';

const hasObjdump = spawnSync('objdump', ['--version']).status === 0;

describe('guest image', () => {
  it('is a bootable sector: code first, 55 AA at 510, zero padded', () => {
    const img = guestImage();
    expect(img.length).toBe(1024 * 1024);
    expect([...img.subarray(0, BOOT_CODE.length)]).toEqual(BOOT_CODE);
    expect(img[510]).toBe(0x55);
    expect(img[511]).toBe(0xaa);
    expect(img.subarray(BOOT_CODE.length, 510).every((b) => b === 0)).toBe(true);
    expect(img.subarray(512).every((b) => b === 0)).toBe(true);
  });

  it.skipIf(!hasObjdump)('disassembles to the listed program (objdump, 16-bit)', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'guest-')), 'boot.bin');
    writeFileSync(file, Buffer.from(BOOT_CODE));
    const r = spawnSync('objdump', ['-D', '-b', 'binary', '-m', 'i8086', file], { encoding: 'utf8' });
    const ops = [...r.stdout.matchAll(/^\s+[0-9a-f]+:\t[0-9a-f ]+\t(\S+)/gm)].map((m) => m[1]);
    // The shape of the program: PIT set-up, hlt, BIOS keyboard, PIT reads, loops.
    expect(ops.slice(0, 11)).toEqual(['cli', 'xor', 'mov', 'mov', 'mov', 'out', 'xor', 'out', 'out', 'xor', 'sti']);
    expect(ops.filter((o) => o === 'hlt')).toHaveLength(1);
    expect(ops.filter((o) => o === 'int')).toHaveLength(2);
    expect(ops.filter((o) => o === 'in')).toHaveLength(2);
    expect(ops).not.toContain('(bad)');
    expect(ops.at(-1)).toBe('jmp');
  });

  it.each([
    [0, 'KEY_0', 0],
    [10, 'KEY_1', 10],
    [55, 'KEY_5', 50],
    [90, 'KEY_9', 90],
    [99, 'KEY_9', 90],
    [100, 'KEY_B', 100],
  ])('load %d %% is key %s (%d %%)', (percent, key, effective) => {
    expect(loadKey(percent)).toEqual({ key, percent: effective });
  });

  it.each([-1, 101, Number.NaN])('refuses load %d', (p) => {
    expect(() => loadKey(p)).toThrow(RangeError);
  });
});
