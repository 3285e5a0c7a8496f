import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { installCommand, installedFact, packagesTask, parseDpkgQuery, parseRpmQuery, parseServiceState, servicesTask, wantedPackages, wantedServices } from '../../tasks/ops/packages.ts';
import { testInventory } from '../engine/inventory.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const [storage, node1] = [testInventory.hosts[0]!, testInventory.hosts[1]!];
const ctx = (host = node1) => ({ inventory: testInventory, host, cluster: { get: () => undefined }, check: false });

describe('package facts', () => {
  it('parses dpkg-query output captured on Debian 12 (installed, not-installed, unknown)', () => {
    // captured: dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' cron sysstat libnfs-utils nosuchpkg-hvmctl  (exit 1)
    const installed = parseDpkgQuery({ code: 1, stdout: fixture('dpkg-query.stdout'), stderr: fixture('dpkg-query.stderr') });
    expect([...installed].sort()).toEqual(['cron', 'libnfs-utils', 'sysstat']);
    expect(parseDpkgQuery({ code: 0, stdout: 'nfs-kernel-server un \nfoo rc \nbar hi \n', stderr: '' })).toEqual(new Set(['bar']));
    expect(() => parseDpkgQuery({ code: 2, stdout: '', stderr: 'dpkg-query: error: database locked' })).toThrow(/database locked/);
  });

  it('parses rpm -q output (format from rpm(8): the NAME for installed, a sentence for missing)', () => {
    const r = parseRpmQuery(['cronie', 'sysstat'], { code: 1, stdout: 'cronie\npackage sysstat is not installed\n', stderr: '' });
    expect(r).toEqual(new Set(['cronie']));
    expect(() => parseRpmQuery(['a'], { code: 0, stdout: 'Usage: whatever\n', stderr: '' })).toThrow(/unexpected line/);
  });

  it('asks the right tool per OS family with every name quoted', () => {
    expect(installedFact('debian', ['cron', 'sysstat']).command).toBe(`dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' cron sysstat`);
    expect(installedFact('redhat', ['cronie']).command).toBe(`rpm -q --qf '%{NAME}\\n' cronie`);
  });
});

describe('wanted packages', () => {
  it('follow role, OS family and the NFS choices', () => {
    expect(wantedPackages(testInventory, storage)).toEqual(['iptables', 'procps', 'nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind']);
    const kernel = { ...testInventory, nfs: { ...testInventory.nfs, server: 'kernel' as const, client: 'kernel' as const } };
    expect(wantedPackages(kernel, storage)).toContain('nfs-kernel-server');
    expect(wantedPackages(kernel, { ...storage, osFamily: 'redhat' })).toContain('nfs-utils');
    expect(wantedPackages(testInventory, node1)).toEqual(expect.arrayContaining(['libvirt-daemon', 'libvirt-clients', 'qemu-system-x86', 'sysstat', 'libnfs-utils', 'openssh-client', 'cron']));
    expect(wantedPackages(kernel, node1)).toContain('nfs-common');
    expect(wantedPackages(kernel, node1)).not.toContain('libnfs-utils');
    expect(wantedPackages(testInventory, { ...node1, osFamily: 'redhat' })).toEqual(expect.arrayContaining(['qemu-kvm', 'libvirt-client', 'cronie', 'openssh-clients']));
  });
});

describe('packages task', () => {
  it('is a no-op when everything is installed', () => {
    const all = new Set(wantedPackages(testInventory, node1));
    expect(packagesTask.plan(ctx(), { installed: all })).toEqual({ changes: [], reason: `${all.size} packages installed` });
  });

  it('installs exactly the missing ones, non-interactively, without recommends', () => {
    const some = new Set(wantedPackages(testInventory, node1).filter((p) => p !== 'sysstat' && p !== 'cron'));
    const r = packagesTask.plan(ctx(), { installed: some });
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe('install sysstat cron');
    expect(r.changes[0]?.commands[0]?.script).toBe(
      'export DEBIAN_FRONTEND=noninteractive\napt-get install -y -q --no-install-recommends sysstat cron || { apt-get update -q && apt-get install -y -q --no-install-recommends sysstat cron; }',
    );
    expect(installCommand('redhat', ['cronie'])).toBe('dnf install -y cronie');
  });
});

describe('services task', () => {
  it('parses systemd and non-systemd states', () => {
    expect(parseServiceState({ code: 0, stdout: 'systemd enabled active\n', stderr: '' })).toEqual({ systemd: true, enabled: true, active: true });
    expect(parseServiceState({ code: 0, stdout: 'systemd  \n', stderr: '' })).toEqual({ systemd: true, enabled: false, active: false });
    expect(parseServiceState({ code: 0, stdout: 'init stopped\n', stderr: '' })).toEqual({ systemd: false, running: false });
    expect(() => parseServiceState({ code: 0, stdout: 'what\n', stderr: '' })).toThrow(/unexpected output/);
  });

  it('enables with systemd, starts the daemon directly without it, does nothing when running', () => {
    const units = wantedServices(node1).map((s) => s.unit);
    expect(units).toEqual(['virtlogd', 'libvirtd', 'cron']);
    expect(servicesTask.applies(storage, testInventory)).toBe(false);
    const running = Object.fromEntries(units.map((u) => [u, { systemd: false as const, running: true }]));
    expect(servicesTask.plan(ctx(), running).changes).toEqual([]);
    const r = servicesTask.plan(ctx(), { ...running, libvirtd: { systemd: false, running: false }, cron: { systemd: true, enabled: false, active: true } });
    expect(r.changes.map((c) => c.commands[0]?.script)).toEqual(['mkdir -p /var/log/libvirt /run/libvirt && libvirtd -d', 'systemctl enable --now cron']);
  });
});
