// /etc/fstab on a hypervisor: one task (tasks/ops/fstab.ts) for the images'
// line and the lockspace's, so an apply that changes both writes the file
// once, from one read.
import { describe, expect, it } from 'vitest';
import { fstabLine } from '../../src/render/managed-files.ts';
import { lockspaceFstabLine } from '../../tasks/ops/disk-locks.ts';
import { fstabTask, planFstabEntries } from '../../tasks/ops/fstab.ts';
import { ctxFor, inventory, withNfs } from './ops-support.ts';

const kernel = withNfs({ client: 'kernel', server: 'kernel', locks: { dir: '/var/lib/libvirt/images/kvmshared/.hvmctl-lockd', mount: false } });
const qemu = withNfs({ client: 'qemu', locks: { dir: '/var/lib/hvmctl/lockd', mount: false } });
const qemuLocks = withNfs({ client: 'qemu', locks: { dir: '/var/lib/hvmctl/lockd', mount: true } });
const images = fstabLine(kernel);
const lockspace = lockspaceFstabLine(qemuLocks);
const debianFstab = '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n/dev/vda / ext4 defaults 0 1\n';
const mp = '/var/lib/libvirt/images/kvmshared';
const kept = '(a removed line\'s mount stays mounted until it is unmounted or the host restarts)';

describe('fstab entries', () => {
  it('the lines', () => {
    expect(images).toBe(`kvmstorage.localdomain:/srv/kvmshared ${mp} nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0`);
    expect(lockspace).toBe('kvmstorage.localdomain:/srv/kvmshared/.hvmctl-lockd /var/lib/hvmctl/lockd nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0');
  });

  it('kernel client: the images line is added with the file writer (atomic), input = the new fstab', () => {
    const r = fstabTask.plan(ctxFor('kvmnode1', { inventory: kernel }), { fstab: debianFstab });
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe(`add ${mp} to /etc/fstab`);
    expect(r.changes[0]?.commands[0]?.input).toBe(`${debianFstab}${images}\n`);
    expect(r.changes[0]?.commands[0]?.script).toContain(`mv -f -- "$t" /etc/fstab`);
    expect(r.changes[0]?.diff).toBe(`+${images}\n`);
    expect(planFstabEntries(kernel, `${images}\n`)).toEqual({ changes: [], reason: `/etc/fstab: the line for ${mp}; no lockspace line (nfs.locks.mount is false)` });
    expect(planFstabEntries(kernel, `old:/x ${mp} nfs ro 0 0\n`).changes[0]?.summary).toBe(`replace the /etc/fstab line for ${mp}`);
  });

  it('qemu client: the images line an earlier (kernel client) apply wrote is removed, so a restart does not mount it again; the rest stays', () => {
    const r = planFstabEntries(qemu, `${debianFstab}${images}\n`);
    expect(r.changes[0]?.summary).toBe(`remove the /etc/fstab line for ${mp} (nfs.client is qemu: QEMU opens the images itself) ${kept}`);
    expect(r.changes[0]?.commands[0]?.input).toBe(debianFstab);
    expect(r.changes[0]?.diff).toBe(`-${images}\n`);
    // other spacing, a trailing slash, nfs4: still the line apply wrote
    expect(planFstabEntries(qemu, `${images.replace(/ /g, '\t').replace('\tnfs\t', '\tnfs4\t').replace(mp, `${mp}/`)}\n`).changes[0]?.commands[0]?.input).toBe('');
  });

  it.each([
    ['no line', debianFstab],
    ['no fstab', undefined],
    ["another export on the mount point (the host's own)", `${debianFstab}nas:/vol/images ${mp} nfs defaults 0 0\n`],
    ['the export on another mount point', `${debianFstab}kvmstorage.localdomain:/srv/kvmshared /mnt/copy nfs defaults 0 0\n`],
    ['a comment', `# ${images}\n`],
  ])('qemu client, no lockspace mount: fstab is left alone: %s', (_what, fstab) => {
    expect(planFstabEntries(qemu, fstab)).toEqual({ changes: [], reason: `/etc/fstab: no line for ${mp} (nfs.client is qemu); no lockspace line (nfs.locks.mount is false)` });
  });

  it('nfs.locks.mount: the lockspace line is added, and nothing else changes', () => {
    const r = planFstabEntries(qemuLocks, debianFstab);
    expect(r.changes[0]?.summary).toBe('add the lockspace /var/lib/hvmctl/lockd to /etc/fstab');
    expect(r.changes[0]?.commands[0]?.input).toBe(`${debianFstab}${lockspace}\n`);
    expect(planFstabEntries(qemuLocks, `${debianFstab}${lockspace}\n`).changes).toEqual([]);
  });

  it('nfs.locks.mount false: the lockspace line an earlier apply wrote is removed', () => {
    const r = planFstabEntries(qemu, `${debianFstab}${lockspace}\n`);
    expect(r.changes[0]?.summary).toBe(`remove the /etc/fstab lockspace line for /var/lib/hvmctl/lockd (nfs.locks.mount is false) ${kept}`);
    expect(r.changes[0]?.commands[0]?.input).toBe(debianFstab);
    expect(r.changes[0]?.diff).toBe(`-${lockspace}\n`);
  });

  it('a new nfs.locks.dir: the line for the old one goes, the new one comes', () => {
    const old = lockspace.replace('/var/lib/hvmctl/lockd', '/srv/old-lockd');
    const r = planFstabEntries(qemuLocks, `${debianFstab}${old}\n`);
    expect(r.changes[0]?.summary).toBe(`add the lockspace /var/lib/hvmctl/lockd to /etc/fstab; remove the /etc/fstab lockspace line for /srv/old-lockd (an earlier nfs.locks.dir) ${kept}`);
    expect(r.changes[0]?.commands[0]?.input).toBe(`${debianFstab}${lockspace}\n`);
    expect(r.changes[0]?.diff).toBe(`-${old}\n+${lockspace}\n`);
    // the new one already there beside the old: only the old goes
    expect(planFstabEntries(qemuLocks, `${lockspace}\n${old}\n`).changes[0]?.diff).toBe(`-${old}\n`);
  });

  it('kernel client -> qemu with the lockspace mounted: ONE write removes the images line and adds the lockspace line', () => {
    // Two tasks would each have written fstab from the same read, the second putting back what the first removed.
    const r = planFstabEntries(qemuLocks, `${debianFstab}${images}\n`);
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.commands).toHaveLength(1);
    expect(r.changes[0]?.commands[0]?.input).toBe(`${debianFstab}${lockspace}\n`);
    expect(r.changes[0]?.diff).toBe(`-${images}\n+${lockspace}\n`);
    expect(r.changes[0]?.summary).toBe(`remove the /etc/fstab line for ${mp} (nfs.client is qemu: QEMU opens the images itself); add the lockspace /var/lib/hvmctl/lockd to /etc/fstab ${kept}`);
    expect(planFstabEntries(qemuLocks, r.changes[0]?.commands[0]?.input)).toEqual({ changes: [], reason: '/etc/fstab: no line for /var/lib/libvirt/images/kvmshared (nfs.client is qemu); the lockspace line for /var/lib/hvmctl/lockd' });
  });

  it('runs on every hypervisor, whatever the client, and never on the storage node', () => {
    expect(fstabTask.applies(ctxFor('kvmnode1').host, inventory)).toBe(true);
    expect(fstabTask.applies(ctxFor('kvmnode1').host, kernel)).toBe(true);
    expect(fstabTask.applies(ctxFor('kvmstorage').host, kernel)).toBe(false);
    expect(fstabTask.tags).toEqual(expect.arrayContaining(['nfs', 'locks', 'mount']));
  });
});
