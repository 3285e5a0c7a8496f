import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLockspaceLine, LOCK_MANAGER_LINE, lockspaceFstabLine, planLockManager, qemuConfWithLockManager } from '../../tasks/ops/disk-locks.ts';
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
    expect(lockspaceFstabLine(testInventory)).toBe('kvmstorage.localdomain:/srv/kvmshared/.hvmctl-lockd /var/lib/hvmctl/lockd nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0');
  });

  const line = lockspaceFstabLine(testInventory);
  const host = [
    '# /etc/fstab: static file system information.',
    'UUID=4f1c0a2e-0d6b-4a55-9c1e-1b2b3c4d5e6f /               ext4    errors=remount-ro 0       1',
    'kvmstorage.localdomain:/srv/kvmshared /var/lib/libvirt/images/kvmshared nfs defaults,_netdev 0 0',
  ].join('\n');
  it('knows its own lines by the .hvmctl-lockd source, and nothing else (tasks/ops/fstab.ts writes and removes them)', () => {
    expect(isLockspaceLine(line)).toBe(true);
    expect(isLockspaceLine('other:/exports/.hvmctl-lockd/ /mnt/l nfs defaults 0 0')).toBe(true);
    expect(host.split('\n').map(isLockspaceLine)).toEqual([false, false, false]);
    expect(isLockspaceLine(`# ${line}`)).toBe(false);
    expect(isLockspaceLine('/dev/sdb1 /srv/.hvmctl-lockd ext4 defaults 0 2')).toBe(false); // a local disk mounted there is the host's
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
