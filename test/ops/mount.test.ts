import { describe, expect, it } from 'vitest';
import { fstabLine } from '../../src/render/managed-files.ts';
import { parseProcMounts } from '../../tasks/facts/mounts.ts';
import { fstabWith, mountTask, planMount, planQemuClient, qemuClientTask } from '../../tasks/ops/mount.ts';
import { captured } from '../facts/captured.ts';
import { ctxFor, inventory, scripts, withNfs } from './ops-support.ts';

const kernel = withNfs({ client: 'kernel', server: 'kernel' });
const line = fstabLine(kernel);
const debianFstab = '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n/dev/vda / ext4 defaults 0 1\n';
const mp = '/var/lib/libvirt/images/kvmshared';

describe('nfs fstab entry (line in file)', () => {
  it('the wanted line', () => {
    expect(line).toBe(`kvmstorage.localdomain:/srv/kvmshared ${mp} nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0`);
  });

  it.each([
    { name: 'present (other spacing): no-op', text: `${debianFstab}${line.replace(/ /g, '\t')}\n`, next: undefined },
    { name: 'absent: appended, the rest kept', text: debianFstab, next: `${debianFstab}${line}\n` },
    { name: 'no fstab at all', text: undefined, next: `${line}\n` },
    {
      name: 'another line for the same mount point (trailing slash): replaced in place',
      text: `old:/x ${mp}/ nfs ro 0 0\n${debianFstab}`,
      next: `${line}\n${debianFstab}`,
    },
    { name: 'duplicates: one kept', text: `${line}\n${debianFstab}${line}\n`, next: `${line}\n${debianFstab}` },
    { name: 'a comment naming the mount point is not a line for it', text: `# ${line}\n`, next: `# ${line}\n${line}\n` },
  ])('$name', ({ text, next }) => {
    expect(fstabWith(text, line)).toBe(next);
  });

});

describe('nfs mount', () => {
  const here = parseProcMounts(captured('proc-mounts.txt'));
  it('not mounted (this machine): mkdir + mount from fstab, refresh the pool', () => {
    const r = mountTask.plan(ctxFor('kvmnode1', { inventory: kernel }), { mounts: here });
    expect(scripts(r)).toEqual([`mkdir -p -- ${mp} && mount -- ${mp}`]);
    expect(r.changes[0]?.notify).toEqual(['pool-refresh']);
  });

  it('mounted (by address instead of name): no-op', () => {
    const m = parseProcMounts(`${captured('proc-mounts.txt')}172.21.3.13:/srv/kvmshared ${mp} nfs4 rw,nosuid,nodev,noexec,relatime,vers=4.2 0 0\n`);
    expect(planMount(mp, 'kvmstorage.localdomain:/srv/kvmshared', m).changes).toEqual([]);
  });

  it('mounted without nosuid, nodev, noexec (before the fstab line had them): remounted with them', () => {
    const m = parseProcMounts(`${captured('proc-mounts.txt')}172.21.3.13:/srv/kvmshared ${mp} nfs4 rw,nodev,relatime,vers=4.2 0 0\n`);
    const r = planMount(mp, 'kvmstorage.localdomain:/srv/kvmshared', m);
    expect(r.changes.map((c) => c.summary)).toEqual([`remount ${mp} nosuid,noexec`]);
    expect(scripts(r)).toEqual([`mount -o remount,nosuid,nodev,noexec -- ${mp}`]);
  });

  it('something else mounted there: failure, not a change', () => {
    const m = parseProcMounts(`tmpfs ${mp} tmpfs rw 0 0\n`);
    expect(() => planMount(mp, 'kvmstorage.localdomain:/srv/kvmshared', m)).toThrow(/tmpfs \(tmpfs\) mounted, not kvmstorage/);
  });

  it('kernel tasks do not apply with the qemu client, and vice versa (the fstab line: test/ops/fstab.test.ts)', () => {
    const h = ctxFor('kvmnode1').host;
    expect(mountTask.applies(h, inventory)).toBe(false);
    expect(qemuClientTask.applies(h, inventory)).toBe(true);
    expect(mountTask.applies(h, kernel)).toBe(true);
    expect(qemuClientTask.applies(h, kernel)).toBe(false);
    expect(qemuClientTask.applies(ctxFor('kvmstorage').host, inventory)).toBe(false);
  });
});

describe('nfs export reachable (qemu client)', () => {
  const url = 'nfs://172.21.3.13/srv/kvmshared';
  const dir = { type: 'directory' as const, mode: 0o755, owner: 'root', group: 'root' };
  const refused = { ok: false as const, reason: 'nfs-ls nfs://172.21.3.13/srv/kvmshared exited 251: Failed to mount nfs share : nfs_service failed' };

  it('reachable, directory there: no-op; directory missing: created', () => {
    expect(planQemuClient(mp, url, false, { dir, export: { ok: true } }).changes).toEqual([]);
    expect(scripts(planQemuClient(mp, url, false, { dir: undefined, export: { ok: true } }))).toEqual([`mkdir -p -- ${mp}`]);
  });

  it('unreachable: the task fails with the reason (captured nfs-ls refusal), no change', () => {
    expect(() => planQemuClient(mp, url, false, { dir, export: refused })).toThrow(
      'the export nfs://172.21.3.13/srv/kvmshared is not reachable from this hypervisor: nfs-ls nfs://172.21.3.13/srv/kvmshared exited 251',
    );
  });

  it('unreachable in check mode on a blank cluster: skipped with the reason', () => {
    const r = planQemuClient(mp, url, true, { dir: undefined, export: refused });
    expect(r.changes).toEqual([]);
    expect(r.skipped).toBe(true);
    expect(r.reason).toMatch(/^nfs:\/\/172\.21\.3\.13\/srv\/kvmshared not reachable yet/);
  });

  it('the fact asks the storage node of the inventory', () => {
    expect(qemuClientTask.facts(ctxFor('kvmnode2')).export.key).toBe(`nfs-ls:${url}`);
  });
});
