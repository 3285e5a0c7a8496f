import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fstabForLockspace, isLockspaceLine, LOCK_MANAGER_LINE, lockspaceFstabLine, planLockManager, planLockspaceFstab, qemuConfWithLockManager } from '../../tasks/ops/disk-locks.ts';
import { testInventory } from '../engine/inventory.ts';
import { leaseKey, leaseXml } from '../../src/render/disk-lease.ts';

// Debian 12's own /etc/libvirt/qemu.conf (libvirt-daemon-driver-qemu 9.0), as a lab host has it.
const debian = readFileSync(new URL('../fixtures/captured/qemu.conf-debian12.txt', import.meta.url), 'utf8');

describe('qemu.conf: exactly one lock_manager line, ours; the rest is the host\'s', () => {
  it('adds it to the packaged file, where it is only a comment, and keeps every other line', () => {
    expect(debian).toMatch(/^#lock_manager = "lockd"$/m);
    const next = qemuConfWithLockManager(debian)!;
    expect(next.split('\n').filter((l) => /^\s*lock_manager\s*=/.test(l))).toEqual([LOCK_MANAGER_LINE]);
    expect(next.startsWith(debian)).toBe(true);
    expect(qemuConfWithLockManager(next)).toBeUndefined();
  });
  it('replaces another lock manager (sanlock) and removes duplicates', () => {
    const next = qemuConfWithLockManager('user = "root"\nlock_manager = "sanlock"\n  lock_manager="lockd"\n')!;
    expect(next).toBe(`user = "root"\n${LOCK_MANAGER_LINE}\n`);
    const plan = planLockManager('lock_manager = "sanlock"\n');
    expect(plan.changes[0]!.summary).toBe(`set ${LOCK_MANAGER_LINE} in /etc/libvirt/qemu.conf (was lock_manager = "sanlock")`);
    expect(plan.changes[0]!.notify).toEqual(['libvirtd-restart']);
  });
  it('no change when it is there once', () => {
    expect(planLockManager(`x = 1\n${LOCK_MANAGER_LINE}\n`).changes).toEqual([]);
  });
  it('a file that does not exist gets just the line', () => {
    expect(qemuConfWithLockManager(undefined)).toBe(`${LOCK_MANAGER_LINE}\n`);
  });
});

describe('the lockspace mount (nfs.locks.mount, for the qemu client)', () => {
  it('mounts EXPORT/.hvmctl-lockd from the storage node on nfs.locks.dir', () => {
    expect(lockspaceFstabLine(testInventory)).toBe('kvmstorage.localdomain:/srv/kvmshared/.hvmctl-lockd /var/lib/hvmctl/lockd nfs defaults,_netdev,hard,timeo=600 0 0');
  });

  const line = lockspaceFstabLine(testInventory);
  const host = [
    '# /etc/fstab: static file system information.',
    'UUID=4f1c0a2e-0d6b-4a55-9c1e-1b2b3c4d5e6f /               ext4    errors=remount-ro 0       1',
    'kvmstorage.localdomain:/srv/kvmshared /var/lib/libvirt/images/kvmshared nfs defaults,_netdev 0 0',
  ].join('\n');
  it('knows its own lines by the .hvmctl-lockd source, and nothing else', () => {
    expect(isLockspaceLine(line)).toBe(true);
    expect(isLockspaceLine('other:/exports/.hvmctl-lockd/ /mnt/l nfs defaults 0 0')).toBe(true);
    expect(host.split('\n').map(isLockspaceLine)).toEqual([false, false, false]);
    expect(isLockspaceLine(`# ${line}`)).toBe(false);
    expect(isLockspaceLine('/dev/sdb1 /srv/.hvmctl-lockd ext4 defaults 0 2')).toBe(false); // a local disk mounted there is the host's
  });
  it('nfs.locks.mount: true adds the line and keeps the host\'s', () => {
    expect(fstabForLockspace(`${host}\n`, line)).toBe(`${host}\n${line}\n`);
    expect(fstabForLockspace(`${host}\n${line}\n`, line)).toBeUndefined();
    expect(planLockspaceFstab(`${host}\n${line}\n`, line, '/var/lib/hvmctl/lockd').changes).toEqual([]);
  });
  it('nfs.locks.mount: false removes the line apply wrote, so a restart does not mount the lockspace again', () => {
    expect(fstabForLockspace(`${host}\n${line}\n`, undefined)).toBe(`${host}\n`);
    const plan = planLockspaceFstab(`${host}\n${line}\n`, undefined, '/var/lib/hvmctl/lockd');
    expect(plan.changes[0]!.summary).toBe(
      'remove the lockspace line for /var/lib/hvmctl/lockd from /etc/fstab (nfs.locks.mount is false; a mounted lockspace stays mounted until it is unmounted or the host restarts)',
    );
    expect(plan.changes[0]!.diff).toBe(`-${line}\n`);
    expect(plan.changes[0]!.commands[0]!.input).toBe(`${host}\n`);
    // and then nothing to do
    expect(planLockspaceFstab(`${host}\n`, undefined, '/var/lib/hvmctl/lockd')).toEqual({ changes: [], reason: '/etc/fstab has no lockspace line (nfs.locks.mount is false)' });
    expect(planLockspaceFstab(undefined, undefined, '/var/lib/hvmctl/lockd').changes).toEqual([]);
  });
  it('a new nfs.locks.dir replaces the line for the old one', () => {
    const old = 'kvmstorage.localdomain:/srv/kvmshared/.hvmctl-lockd /srv/old-lockd nfs defaults,_netdev,hard,timeo=600 0 0';
    expect(fstabForLockspace(`${host}\n${old}\n`, line)).toBe(`${host}\n${line}\n`);
    const plan = planLockspaceFstab(`${host}\n${old}\n`, line, '/var/lib/hvmctl/lockd');
    expect(plan.changes[0]!.summary).toBe('set the lockspace line for /var/lib/hvmctl/lockd and remove the one for /srv/old-lockd from /etc/fstab (an earlier nfs.locks.dir)');
    expect(plan.changes[0]!.diff).toBe(`-${old}\n+${line}\n`);
    // already there, with an old one left beside it
    expect(fstabForLockspace(`${host}\n${line}\n${old}\n`, line)).toBe(`${host}\n${line}\n`);
    expect(planLockspaceFstab(`${host}\n${line}\n${old}\n`, line, '/var/lib/hvmctl/lockd').changes[0]!.diff).toBe(`-${old}\n`);
  });
});

describe('the lease of an image QEMU opens over NFS', () => {
  it('is named after the image path, so two guests naming one image ask for one lease', () => {
    expect(leaseKey('/srv/kvmshared/server1.img')).toBe('srv%2Fkvmshared%2Fserver1.img');
    expect(leaseKey('/srv/a%2Fb.img')).toBe('srv%2Fa%252Fb.img');
    expect(leaseKey('/srv/a/b.img')).not.toBe(leaseKey('/srv/a%2Fb.img'));
    expect(leaseXml('/srv/x.img', '/var/lib/hvmctl/lockd')).toBe("<lease><lockspace>files</lockspace><key>srv%2Fx.img</key><target path='/var/lib/hvmctl/lockd'/></lease>");
  });
});
