// End-to-end: the lab itself. Runs first among the lab files (see
// vitest.config.ts), on the lab the global setup brought up, and leaves a
// fresh, blank lab for the files after it. Its hosts are Debian 12 servers
// booting systemd in containers, bare as an installer leaves them.
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { labLeftovers } from '../../lab/down.ts';
import { assertLabRoute, RouteGuardError } from '../../src/connector/route-guard.ts';
import { runLocal } from '../../lab/local.ts';
import { labExec, labSsh, labState, labUnavailableReason, mustLabExec, runHvmctl } from './support.ts';

const skip = labUnavailableReason();

/** A process that exists and is not a zombie waiting for its parent. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const hypervisors = ['kvmnode1', 'kvmnode2', 'kvmnode3'];
const all = ['kvmstorage', ...hypervisors];

interface StatusJson {
  up: boolean;
  hosts: { name: string; address: string; role: string; up: boolean; init: string; services: string[]; initPid: number; cpus: number; memoryMiB: number }[];
}

function status(): StatusJson {
  const r = runHvmctl(['lab', 'status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}

/** CPU jiffies (all but idle and iowait) in a host's own /proc/stat, read inside it. */
function busyJiffies(host: string): number {
  const f = mustLabExec(host, 'head -1 /proc/stat').trim().split(/\s+/).slice(1).map(Number);
  return f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
}

describe.skipIf(skip !== undefined)(`hvmctl lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('status lists the four hosts, each booted with systemd as PID 1 and its own journal, D-Bus, sshd and cron', () => {
    const s = status();
    expect(s.hosts.map((h) => [h.name, h.address, h.up, h.init])).toEqual([
      ['kvmstorage', '172.21.3.13', true, 'systemd'],
      ['kvmnode1', '172.21.3.10', true, 'systemd'],
      ['kvmnode2', '172.21.3.11', true, 'systemd'],
      ['kvmnode3', '172.21.3.12', true, 'systemd'],
    ]);
    for (const h of s.hosts) {
      expect(h.services).toEqual(expect.arrayContaining(['systemd-journal', 'dbus-daemon', 'sshd', 'cron']));
      expect(mustLabExec(h.name, 'ps -p 1 -o comm=').trim()).toBe('systemd');
      // Start-up finished with no unit failed (degraded would list them).
      expect(mustLabExec(h.name, 'systemctl is-system-running').trim()).toBe('running');
      expect(mustLabExec(h.name, 'systemctl is-active networking.service ssh.service dbus.service systemd-journald.service').trim().split('\n')).toEqual(['active', 'active', 'active', 'active']);
    }
  });

  it('a second lab up is refused with exit code 75', () => {
    const r = runHvmctl(['lab', 'up']);
    expect(r.code).toBe(75);
    expect(r.stderr).toContain('hvmctl lab down');
  });

  it('each host has its own name, its address on eth0 with its MAC, and its own file system', () => {
    const marker = `/etc/hvmlab-isolation-${randomUUID()}`;
    mustLabExec('kvmnode1', `echo kvmnode1 > ${marker}`);
    expect(mustLabExec('kvmnode1', `cat ${marker}`).trim()).toBe('kvmnode1');
    expect(labExec('kvmnode2', `test -e ${marker}`).code).toBe(1);
    expect(labExec('kvmstorage', `test -e ${marker}`).code).toBe(1);
    expect(existsSync(marker)).toBe(false);
    mustLabExec('kvmnode1', `rm ${marker}`);
    for (const h of all) expect(mustLabExec(h, 'hostname; cat /etc/hostname').split('\n').slice(0, 2)).toEqual([h, h]);
    const addr = mustLabExec('kvmnode2', 'ip -4 -o addr show dev eth0; cat /sys/class/net/eth0/address; ls /sys/class/net');
    expect(addr).toContain('172.21.3.11/26');
    expect(addr).toContain('52:54:00:15:03:0b');
    // Its sysfs is its own network's: no interface of this machine shows.
    expect(addr.trim().split('\n').slice(-2)).toEqual(['eth0', 'lo']);
  });

  it('each host measures itself: one CPU and its own memory in /proc, and a busy neighbour does not show', async () => {
    for (const h of hypervisors) {
      expect(mustLabExec(h, "grep -c '^cpu[0-9]' /proc/stat; grep -c '^processor' /proc/cpuinfo; getconf _NPROCESSORS_ONLN").trim().split('\n')).toEqual(['1', '1', '1']);
      expect(mustLabExec(h, "awk '/^MemTotal:/ {print $2}' /proc/meminfo").trim()).toBe(String(4096 * 1024));
    }
    expect(mustLabExec('kvmstorage', "awk '/^MemTotal:/ {print $2}' /proc/meminfo").trim()).toBe(String(2048 * 1024));
    // kvmnode2 busy for 4 s: its own /proc/stat shows it, kvmnode1's does not.
    const before = { n1: busyJiffies('kvmnode1'), n2: busyJiffies('kvmnode2') };
    mustLabExec('kvmnode2', 'timeout 4 sh -c "while :; do :; done" || true');
    const after = { n1: busyJiffies('kvmnode1'), n2: busyJiffies('kvmnode2') };
    // USER_HZ 100: 4 s of one CPU is about 400 jiffies (a busy machine gives it less).
    expect(after.n2 - before.n2).toBeGreaterThan(150);
    expect(after.n1 - before.n1).toBeLessThan(100);
  });

  it('exec passes the exit code through', () => {
    expect(labExec('kvmnode3', 'exit 7').code).toBe(7);
  });

  it('hosts start bare: only the operator key, nothing managed, no firewall, and the packages apply manages not installed', () => {
    const operatorKey = readFileSync(`${labState().identity}.pub`, 'utf8').trim();
    for (const h of all) {
      expect(mustLabExec(h, 'ls -A /root/.ssh').trim()).toBe('authorized_keys');
      expect(mustLabExec(h, 'cat /root/.ssh/authorized_keys').trim()).toBe(operatorKey);
      expect(labExec(h, 'test -e /etc/hvmctl').code).toBe(1);
      expect(mustLabExec(h, 'ls -A /etc/network/interfaces.d; ls /etc/cron.d /etc/systemd/system | grep hvmctl || true').trim()).toBe('');
      // As an installer leaves it: the address on the NIC, no bridge.
      expect(mustLabExec(h, 'cat /etc/network/interfaces')).toMatch(/^auto eth0\niface eth0 inet static\n\taddress 172\.21\.3\.\d+\/26\n\tgateway 172\.21\.3\.1$/m);
      expect(labExec(h, 'ip link show br0').code).not.toBe(0);
      // No firewall tool yet (Debian's important set has nftables, with an empty ruleset).
      expect(labExec(h, 'command -v iptables').code).not.toBe(0);
      expect(mustLabExec(h, 'nft list ruleset').trim()).toBe('');
      const missing = mustLabExec(h, "dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' libvirt-daemon-system qemu-system-x86 nfs-ganesha iptables nodejs 2>/dev/null || true");
      expect(missing).not.toMatch(/^ii /m);
    }
    expect(mustLabExec('kvmstorage', 'ls -A /srv/kvmshared').trim()).toBe('');
  });

  it("apt installs from the lab's own read-only repository, which holds everything apply may install", () => {
    expect(mustLabExec('kvmnode1', 'cat /etc/apt/sources.list; ls /etc/apt/sources.list.d').trim()).toBe('deb [trusted=yes] file:/var/local/hvmlab-apt ./');
    // A dry run resolves every dependency from the repository (apt would fail on a missing one).
    const sim = labExec('kvmnode1', 'apt-get install --simulate --no-install-recommends libvirt-daemon-system qemu-system-x86 qemu-block-extra libnfs-utils nfs-ganesha nfs-ganesha-vfs nodejs iptables bridge-utils');
    expect(sim.code, sim.stderr).toBe(0);
    expect(sim.stdout).toMatch(/^Inst libvirt-daemon-system /m);
    expect(labExec('kvmnode1', 'touch /var/local/hvmlab-apt/x').code).not.toBe(0);
  });

  it('every host has its own SSH host key, pinned: ssh with StrictHostKeyChecking=yes works', () => {
    const fingerprints = new Set<string>();
    for (const h of all) {
      const r = labSsh(h, 'hostname');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(h);
      fingerprints.add(mustLabExec(h, 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub').split(' ')[1]!);
    }
    expect(fingerprints.size).toBe(4);
    const known = readFileSync(labState().knownHosts, 'utf8');
    for (const name of ['172.21.3.10', 'kvmnode1.localdomain', 'kvmnode1']) {
      expect(known).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')} ssh-ed25519 \\S+ hvmctl-lab$`, 'm'));
    }
    const viaCli = runHvmctl(['lab', 'ssh', 'kvmstorage', 'hostname']);
    expect(viaCli.code, viaCli.stderr).toBe(0);
    expect(viaCli.stdout.trim()).toBe('kvmstorage');
    // A command that looks like one of ssh's options is the remote command, never ssh's own
    // (ssh reads options after the destination): no ProxyCommand runs on this machine.
    const marker = `/tmp/hvmctl-lab-ssh-${randomUUID()}`;
    const asOption = runHvmctl(['lab', 'ssh', 'kvmstorage', '--', `-oProxyCommand=touch ${marker}`]);
    expect(existsSync(marker), `${asOption.stdout}${asOption.stderr}`).toBe(false);
    expect(asOption.code).not.toBe(255);
  });

  it('the route guard accepts lab hosts and refuses everything else (ip route get only)', () => {
    expect(() => assertLabRoute('172.21.3.10')).not.toThrow();
    for (const outside of ['8.8.8.8', '10.0.0.1', '172.21.3.1', '127.0.0.1', 'kvmnode1']) {
      expect(() => assertLabRoute(outside), outside).toThrow(RouteGuardError);
    }
    // The root namespace does not forward what the lab hosts send elsewhere.
    expect(runLocal(['ip', 'route', 'get', '8.8.8.8', 'from', '172.21.3.11', 'iif', 'hvmlab0']).code).not.toBe(0);
  });

  it('lab reboot: a clean reboot keeps the files, starts a new boot with a fresh network, and waits for sshd', () => {
    const marker = `/root/reboot-${randomUUID()}`;
    mustLabExec('kvmnode3', `touch ${marker}; ip addr add 10.99.0.1/32 dev lo`);
    const bootId = mustLabExec('kvmnode3', 'cat /proc/sys/kernel/random/boot_id').trim();
    const oldInit = status().hosts.find((h) => h.name === 'kvmnode3')!.initPid;
    const r = runHvmctl(['lab', 'reboot', 'kvmnode3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^kvmnode3: rebooted, systemd running, sshd answers after [\d.]+ s$/m);
    expect(labSsh('kvmnode3', 'hostname').stdout.trim()).toBe('kvmnode3');
    expect(mustLabExec('kvmnode3', 'cat /proc/sys/kernel/random/boot_id').trim()).not.toBe(bootId);
    expect(status().hosts.find((h) => h.name === 'kvmnode3')!.initPid).not.toBe(oldInit);
    expect(alive(oldInit)).toBe(false);
    expect(labExec('kvmnode3', `test -e ${marker}`).code).toBe(0);
    expect(mustLabExec('kvmnode3', 'ip -o addr show dev lo')).not.toContain('10.99.0.1');
    expect(mustLabExec('kvmnode3', "journalctl --list-boots --no-pager | grep -cE '^ *-?[0-9]+ [0-9a-f]{32} '").trim()).toBe('2');
    mustLabExec('kvmnode3', `rm ${marker}`);
    expect(runHvmctl(['lab', 'reboot']).code).toBe(64);
  });

  it('lab down leaves nothing behind, and a new lab up is ready again', () => {
    const before = status();
    const knownHosts = labState().knownHosts;
    const down = runHvmctl(['lab', 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(labLeftovers()).toEqual([]);
    expect(runLocal(['ip', 'link', 'show']).stdout).not.toContain('hvmlab');
    expect(runLocal(['ip', 'netns', 'list']).stdout).not.toContain('hvmlab');
    expect(readFileSync('/proc/mounts', 'utf8')).not.toMatch(/hvmlab|hvmctl-lab/);
    for (const h of ['cpuacct', 'memory', 'systemd', 'unified']) expect(existsSync(`/sys/fs/cgroup/${h}/hvmlab`), h).toBe(false);
    for (const h of before.hosts) expect(alive(h.initPid), `init of ${h.name}`).toBe(false);
    expect(readFileSync(knownHosts, 'utf8')).not.toContain('hvmctl-lab');
    expect(runHvmctl(['lab', 'status']).code).toBe(3);
    expect(runHvmctl(['lab', 'down']).code).toBe(0); // idempotent

    const t0 = Date.now();
    const up = runHvmctl(['lab', 'up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/lab up: 4 hosts ready in [\d.]+ s/);
    process.stderr.write(`lab up (image cached) took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });
});
