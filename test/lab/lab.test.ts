// End-to-end: the lab itself. Runs first among the lab files (see
// vitest.config.ts), on the lab the global setup brought up, and leaves a
// fresh, blank lab for the files after it.
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { labLeftovers } from '../../lab/down.ts';
import { assertLabRoute, RouteGuardError } from '../../lab/route-guard.ts';
import { runLocal } from '../../lab/local.ts';
import { hostCpuNs, labExec, labSsh, labState, labUnavailableReason, mustLabExec, runHvmctl } from './support.ts';

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
  hosts: { name: string; address: string; role: string; up: boolean; services: string[]; initPid: number; cpuSource: string }[];
}

describe.skipIf(skip !== undefined)(`hvmctl lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('status lists the four hosts with their services running', () => {
    const r = runHvmctl(['lab', 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as StatusJson;
    expect(s.hosts.map((h) => [h.name, h.address, h.up])).toEqual([
      ['kvmstorage', '172.21.3.13', true],
      ['kvmnode1', '172.21.3.10', true],
      ['kvmnode2', '172.21.3.11', true],
      ['kvmnode3', '172.21.3.12', true],
    ]);
    for (const h of s.hosts) {
      expect(h.services).toEqual(expect.arrayContaining(['sshd', 'cron']));
      if (h.role === 'hypervisor') expect(h.services).toEqual(expect.arrayContaining(['virtlogd', 'libvirtd']));
      else expect(h.services).toContain('rpcbind');
      expect(h.cpuSource).toBe(`cgroup:/sys/fs/cgroup/cpuacct/hvmlab/${h.name}`);
    }
  });

  it('a second lab up is refused with exit code 75', () => {
    const r = runHvmctl(['lab', 'up']);
    expect(r.code).toBe(75);
    expect(r.stderr).toContain('hvmctl lab down');
  });

  it('each host has its own name, address, file system and cgroup', () => {
    const marker = `/etc/hvmlab-isolation-${randomUUID()}`;
    mustLabExec('kvmnode1', `echo kvmnode1 > ${marker}`);
    expect(mustLabExec('kvmnode1', `cat ${marker}`).trim()).toBe('kvmnode1');
    expect(labExec('kvmnode2', `test -e ${marker}`).code).toBe(1);
    expect(labExec('kvmstorage', `test -e ${marker}`).code).toBe(1);
    expect(existsSync(marker)).toBe(false);
    mustLabExec('kvmnode1', `rm ${marker}`);
    for (const h of all) {
      expect(mustLabExec(h, 'hostname; cat /etc/hostname').split('\n').slice(0, 2)).toEqual([h, h]);
      expect(mustLabExec(h, 'cat /proc/self/cgroup')).toContain(`cpuacct:/hvmlab/${h}`);
    }
    const addr = mustLabExec('kvmnode2', 'ip -4 -o addr show dev eth0; cat /sys/class/net/eth0/address');
    expect(addr).toContain('172.21.3.11/26');
    expect(addr).toContain('52:54:00:15:03:0b');
  });

  it('exec passes the exit code through', () => {
    expect(labExec('kvmnode3', 'exit 7').code).toBe(7);
  });

  it('hosts start bare: only the operator key, nothing managed, no firewall rules, no pool', () => {
    const operatorKey = readFileSync(`${labState().identity}.pub`, 'utf8').trim();
    for (const h of all) {
      expect(mustLabExec(h, 'ls -A /root/.ssh').trim()).toBe('authorized_keys');
      expect(mustLabExec(h, 'cat /root/.ssh/authorized_keys').trim()).toBe(operatorKey);
      expect(labExec(h, 'test -e /etc/hvmctl').code).toBe(1);
      expect(mustLabExec(h, 'ls -A /var/spool/cron/crontabs').trim()).toBe('');
      const rules = mustLabExec(h, 'iptables -S').trim().split('\n');
      expect(rules).toEqual(['-P INPUT ACCEPT', '-P FORWARD ACCEPT', '-P OUTPUT ACCEPT']);
    }
    for (const h of hypervisors) {
      expect(mustLabExec(h, 'virsh -c qemu:///system pool-list --all --name').trim()).toBe('');
    }
    expect(mustLabExec('kvmstorage', 'ls -A /srv/kvmshared').trim()).toBe('');
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
  });

  it('the route guard accepts lab hosts and refuses everything else (ip route get only)', () => {
    expect(() => assertLabRoute('172.21.3.10')).not.toThrow();
    for (const outside of ['8.8.8.8', '10.0.0.1', '172.21.3.1', '127.0.0.1', 'kvmnode1']) {
      expect(() => assertLabRoute(outside), outside).toThrow(RouteGuardError);
    }
    // The root namespace does not forward what the lab hosts send elsewhere.
    expect(runLocal(['ip', 'route', 'get', '8.8.8.8', 'from', '172.21.3.11', 'iif', 'hvmlab0']).code).not.toBe(0);
  });

  it('libvirtd answers on each hypervisor, rpcbind on the storage node, cron everywhere', () => {
    for (const h of hypervisors) {
      expect(mustLabExec(h, 'virsh -c qemu:///system uri').trim()).toBe('qemu:///system');
      expect(mustLabExec(h, 'virsh -c qemu:///system capabilities')).toContain('<uuid>');
    }
    const uuids = new Set(hypervisors.map((h) => mustLabExec(h, 'virsh -c qemu:///system capabilities').match(/<uuid>([^<]+)<\/uuid>/)?.[1]));
    expect(uuids.size).toBe(3); // distinct host UUIDs: migration between them is allowed
    expect(mustLabExec('kvmstorage', 'rpcinfo -p 127.0.0.1')).toMatch(/100000\s+\d+\s+tcp\s+111\s+portmapper/);
    for (const h of all) expect(labExec(h, 'pgrep -x cron').code).toBe(0);
  });

  it('lab vms refuses, saying why, while there is no NFS export', () => {
    const r = runHvmctl(['lab', 'vms']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot list the NFS export nfs://172.21.3.13/srv/kvmshared');
    expect(r.stderr).toContain('hvmctl apply');
  });

  it('guests boot from the NFS export and take the load they are told (in-guest duty cycle)', { timeout: 240_000 }, async () => {
    // A throw-away export, configured by hand (apply's job in the other
    // files) and removed at the end so the hosts stay blank.
    const conf = '/tmp/hvmlab-test-ganesha.conf';
    mustLabExec(
      'kvmstorage',
      `mkdir -p /var/lib/nfs/ganesha && cat > ${conf} <<'EOF'
NFS_CORE_PARAM { Protocols = 3, 4; }
EXPORT { Export_Id = 1; Path = /srv/kvmshared; Pseudo = /srv/kvmshared; Access_Type = None; Squash = No_Root_Squash;
  Protocols = 3, 4; Transports = TCP; FSAL { Name = VFS; } CLIENT { Clients = 172.21.3.0/26; Access_Type = RW; } }
EOF
ganesha.nfsd -f ${conf} -L /tmp/hvmlab-test-ganesha.log -p /run/hvmlab-test-ganesha.pid`,
    );
    try {
      let listed = false;
      for (let i = 0; i < 60 && !listed; i++) {
        listed = labExec('kvmnode1', 'nfs-ls nfs://172.21.3.13/srv/kvmshared').code === 0;
        if (!listed) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(listed).toBe(true);

      const vms = runHvmctl(['lab', 'vms']);
      expect(vms.code, vms.stderr).toBe(0);
      expect(vms.stdout).toContain('server3: running on kvmnode1');
      const xml = mustLabExec('kvmnode1', 'virsh -c qemu:///system dumpxml server2');
      expect(xml).toMatch(/<disk type=.network. device=.disk.>[\s\S]*<source protocol=.nfs. name=.\/srv\/kvmshared\/server2\.img.[^>]*>/);
      expect(xml).toContain('<home>kvmnode1</home>');
      expect(runHvmctl(['lab', 'vms']).stdout).toContain('server1: running on kvmnode1'); // idempotent

      const busy = async (percent: number) => {
        const r = runHvmctl(['lab', 'load', 'server1', String(percent)]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`server1 on kvmnode1: load set to ${percent} %`);
        await new Promise((res) => setTimeout(res, 1500));
        const a = hostCpuNs('kvmnode1');
        await new Promise((res) => setTimeout(res, 4000));
        return ((hostCpuNs('kvmnode1') - a) / 4e9) * 100;
      };
      const full = await busy(100);
      const half = await busy(50);
      const idle = await busy(0);
      // The machine has two cores shared with other work: generous bounds.
      expect(full).toBeGreaterThan(60);
      expect(half).toBeGreaterThan(20);
      expect(half).toBeLessThan(full);
      expect(idle).toBeLessThan(15);
      expect(mustLabExec('kvmnode1', 'cat /var/log/libvirt/qemu/server1-serial.log')).toContain('b50');
    } finally {
      labExec(
        'kvmnode1',
        'for d in server1 server2 server3; do virsh -c qemu:///system destroy $d; virsh -c qemu:///system undefine $d; done >/dev/null 2>&1; rm -f /var/log/libvirt/qemu/server*',
      );
      labExec('kvmstorage', `kill $(cat /run/hvmlab-test-ganesha.pid); rm -f ${conf} /tmp/hvmlab-test-ganesha.log /srv/kvmshared/*.img; rm -rf /var/lib/nfs/ganesha`);
    }
  });

  it('lab down leaves nothing behind, and a new lab up is ready in under 30 s', () => {
    const before = labState();
    const down = runHvmctl(['lab', 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(labLeftovers()).toEqual([]);
    expect(runLocal(['ip', 'link', 'show']).stdout).not.toContain('hvmlab');
    expect(runLocal(['ip', 'netns', 'list']).stdout).not.toContain('hvmlab');
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain('hvmlab');
    expect(existsSync('/sys/fs/cgroup/cpuacct/hvmlab')).toBe(false);
    for (const h of before.hosts) expect(alive(h.initPid), `init of ${h.name}`).toBe(false);
    expect(readFileSync(before.knownHosts, 'utf8')).not.toContain('hvmctl-lab');
    expect(runHvmctl(['lab', 'status']).code).toBe(3);
    expect(runHvmctl(['lab', 'down']).code).toBe(0); // idempotent

    const t0 = Date.now();
    const up = runHvmctl(['lab', 'up']);
    const seconds = (Date.now() - t0) / 1000;
    expect(up.code, up.stderr).toBe(0);
    expect(seconds).toBeLessThan(30);
    expect(up.stderr).toMatch(/lab up: 4 hosts ready in [\d.]+ s/);
  });
});
