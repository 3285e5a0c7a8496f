import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';
import { allDebianPackages, allPackages, packagesFor, wantedPackages } from '../../src/os/packages.ts';
import { installedFact, parseDpkgQuery, parseRpmQuery } from '../../tasks/facts/installed-packages.ts';
import { APT_LOCK_TIMEOUT_S, installCommand, checkOsFamily, packagesTask } from '../../tasks/ops/packages.ts';
import { testInventory } from '../engine/inventory.ts';
import { parseOsRelease } from '../../tasks/facts/os-release.ts';
import { captured, ok } from '../facts/captured.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const [storage, node1] = [testInventory.hosts[0]!, testInventory.hosts[1]!];
const debian12 = parseOsRelease(ok(captured('os-release-debian12.txt')));
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
  const kernel = { ...testInventory, nfs: { ...testInventory.nfs, server: 'kernel' as const, client: 'kernel' as const } };

  it('follow role, OS family and the NFS choices', () => {
    expect(wantedPackages(testInventory, storage)).toEqual(['iptables', 'procps', 'bridge-utils', 'nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind']);
    expect(wantedPackages(kernel, storage)).toContain('nfs-kernel-server');
    expect(wantedPackages(kernel, { ...storage, osFamily: 'redhat' })).toContain('nfs-utils');
    expect(wantedPackages(testInventory, node1)).toEqual(
      expect.arrayContaining(['libvirt-daemon-system', 'libvirt-daemon', 'libvirt-clients', 'libxml2-utils', 'qemu-system-x86', 'sysstat', 'libnfs-utils', 'openssh-client', 'cron']),
    );
    expect(wantedPackages(kernel, node1)).toContain('nfs-common');
    expect(wantedPackages(kernel, node1)).not.toContain('libnfs-utils');
    expect(wantedPackages(testInventory, { ...node1, osFamily: 'redhat' })).toEqual(
      expect.arrayContaining(['iptables-nft', 'libvirt-daemon', 'libvirt-daemon-driver-storage-core', 'qemu-kvm', 'libvirt-client', 'cronie', 'openssh-clients']),
    );
  });

  it('Debian: the unit files (libvirt-daemon-system) and what ifupdown and virt-xml-validate run (bridge-utils, xmllint)', () => {
    for (const inv of [testInventory, kernel]) {
      expect(wantedPackages(inv, node1)).toEqual(expect.arrayContaining(['libvirt-daemon-system', 'libxml2-utils', 'bridge-utils']));
      expect(wantedPackages(inv, storage)).toContain('bridge-utils');
    }
  });

  it("allDebianPackages: every role with every NFS choice, plus the firewall loader, node and Prometheus' exporters, each once, sorted", () => {
    const all = allDebianPackages();
    expect(all).toEqual([...new Set(all)].sort());
    for (const role of ['storage', 'hypervisor'] as const) {
      for (const server of ['kernel', 'ganesha'] as const) {
        for (const client of ['kernel', 'qemu'] as const) expect(all).toEqual(expect.arrayContaining(packagesFor('debian', role, { server, client })));
      }
    }
    expect(all).toEqual(expect.arrayContaining(['iptables-persistent', 'netfilter-persistent', 'nodejs', 'nfs-kernel-server', 'nfs-ganesha', 'nfs-common', 'qemu-block-extra', 'prometheus-node-exporter', 'prometheus-libvirt-exporter']));
    expect(all).toHaveLength(28);
    expect(allPackages('redhat')).toEqual(expect.arrayContaining(['iptables-nft-services', 'nodejs', 'nfs-utils']));
    expect(allPackages('redhat')).not.toContain('iptables-persistent');
  });

  it('every Debian name exists on Debian 12 (captured apt-cache show of allDebianPackages())', () => {
    const known = new Set([...captured('debian12-apt-cache-show.txt').matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
    expect(allDebianPackages().filter((p) => !known.has(p))).toEqual([]);
  });
});

describe('packages task', () => {
  it('is a no-op when everything is installed', () => {
    const all = new Set(wantedPackages(testInventory, node1));
    expect(packagesTask.plan(ctx(), { os: debian12, installed: all })).toEqual({ changes: [], reason: `${all.size} packages installed` });
  });

  it('installs exactly the missing ones: non-interactively, without recommends, keeping local conffiles, waiting for the dpkg lock', () => {
    const some = new Set(wantedPackages(testInventory, node1).filter((p) => p !== 'sysstat' && p !== 'cron'));
    const r = packagesTask.plan(ctx(), { os: debian12, installed: some });
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe('install sysstat cron');
    const script = r.changes[0]?.commands[0]?.script ?? '';
    expect(script).toBe(installCommand('debian', ['sysstat', 'cron']));
    expect(script.split('\n')[0]).toBe('export DEBIAN_FRONTEND=noninteractive');
    expect(script).toContain(
      `apt-get -o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y -q --no-install-recommends sysstat cron`,
    );
    expect(installCommand('redhat', ['cronie'])).toBe('dnf install -y cronie');
  });
});

describe('the apt install script, on a real shell with a fake apt-get', () => {
  // apt-get and sleep are scripts on PATH: apt-get logs its arguments and
  // answers as `behaviour` says (counters in files: each call is a process).
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  async function run(behaviour: string) {
    const dir = mkdtempSync(path.join(tmpdir(), 'hvmctl-apt-'));
    dirs.push(dir);
    const fake = (name: string, body: string) => {
      writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(dir, name), 0o755);
    };
    fake('apt-get', `d=${dir}\necho "$*" >> "$d/log"\ncount() { n=$(cat "$d/$1" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/$1"; echo $n; }\n${behaviour}`);
    fake('sleep', 'exit 0');
    const r = await new LocalConnector().run(`PATH=${dir}:$PATH\n${installCommand('debian', ['cron', "it's"])}`);
    let log: string[] = [];
    try {
      log = readFileSync(path.join(dir, 'log'), 'utf8').trim().split('\n');
    } catch {
      log = [];
    }
    return { ...r, calls: log.map((l) => (l.includes(' install ') ? 'install' : l.includes(' update') ? 'update' : l)), log };
  }

  it('installs once when the index is fresh, every name quoted', async () => {
    const r = await run('exit 0');
    expect(r.code).toBe(0);
    expect(r.log).toEqual([
      `-o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y -q --no-install-recommends cron it's`,
    ]);
  });

  it('"unable to locate" once: updates, then installs again', async () => {
    const r = await run('case "$*" in *" install "*) [ "$(count install)" -gt 1 ] && exit 0; echo "E: Unable to locate package cron" >&2; exit 100 ;; *) exit 0 ;; esac');
    expect(r.code).toBe(0);
    expect(r.calls).toEqual(['install', 'update', 'install']);
  });

  it('the lists lock held (apt-daily): update waits and retries; any other update error fails at once', async () => {
    const locked = await run(
      'case "$*" in *" install "*) [ -e "$d/updated" ] && exit 0; exit 100 ;; *update*) if [ "$(count update)" -lt 3 ]; then echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 812 (apt-get)"; exit 100; fi; touch "$d/updated"; exit 0 ;; esac',
    );
    expect(locked.code).toBe(0);
    expect(locked.calls).toEqual(['install', 'update', 'update', 'update', 'install']);
    const broken = await run('case "$*" in *" install "*) exit 100 ;; *update*) echo "E: The repository is not signed."; exit 100 ;; esac');
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain('The repository is not signed.');
    expect(broken.calls).toEqual(['install', 'update']);
  });
});

describe('the host is the family the inventory says', () => {
  const ubuntu = { id: 'ubuntu', idLike: ['debian'], versionId: '24.04', family: 'ubuntu' } as const;

  it('agrees: nothing to say', () => {
    expect(checkOsFamily(testInventory, node1, debian12)).toBe('');
    expect(checkOsFamily(testInventory, { ...node1, osFamily: 'ubuntu' }, ubuntu)).toBe('');
  });

  it('a known family that differs stops the host before anything is installed, naming the key to set and the file', () => {
    expect(() => packagesTask.plan(ctx(), { os: ubuntu, installed: new Set() })).toThrow(
      expect.objectContaining({
        code: 'E_OS_FAMILY',
        message: "kvmnode1: the inventory says os_family: debian, but the host's /etc/os-release says ID=ubuntu (Ubuntu)",
        hint: 'set os_family: ubuntu under hypervisors.hosts.kvmnode1 (or cluster.os_family for every host) in /test/inventory.yaml',
      }),
    );
    expect(() => checkOsFamily(testInventory, storage, ubuntu)).toThrow(expect.objectContaining({ hint: expect.stringContaining('under storage.hosts.kvmstorage') }));
  });

  it('an unknown family, or no os-release, goes by the inventory and says so', () => {
    const all = new Set(wantedPackages(testInventory, node1));
    expect(packagesTask.plan(ctx(), { os: { id: 'arch', idLike: [] }, installed: all }).reason).toBe(
      `${all.size} packages installed (/etc/os-release: ID=arch, a family hvmctl does not know; going by the inventory's os_family: debian)`,
    );
    expect(checkOsFamily(testInventory, node1, { idLike: [] })).toBe("no /etc/os-release; going by the inventory's os_family: debian");
  });
});

