// The pure parts of the booted lab: how a host is started (nspawn's command
// line), what it starts with (the installer's network file), where it lives
// (cgroup hierarchies read from /proc/mounts), how its init is found (the
// parent pid in /proc/PID/stat) and when its image is rebuilt (the cache key).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parentPid } from '../../lab/host-process.ts';
import { imageKey } from '../../lab/image.ts';
import { cgroupHierarchies, deviceNumbers, groupId, installerInterfaces, nspawnArgv } from '../../lab/up.ts';
import { labTopology } from '../../lab/topology.ts';
import { loadInventory } from '../../src/inventory/load.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => readFileSync(path.join(here, 'fixtures', name), 'utf8');

describe('cgroupHierarchies', () => {
  it('lists every cgroup hierarchy mounted under /sys/fs/cgroup (captured /proc/mounts of a cgroup v1 machine)', () => {
    expect(cgroupHierarchies(fixture('proc-mounts-cgroup-v1.txt'))).toEqual(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'unified']);
  });
  it('refuses a machine without a cgroup v1 cpuacct hierarchy', () => {
    expect(() => cgroupHierarchies('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n')).toThrow(/no cgroup v1 cpuacct hierarchy/);
  });
});

describe('parentPid', () => {
  it('reads the parent after the last parenthesis, whatever the program name holds (captured, comm "s) R 1 (x")', () => {
    expect(parentPid(fixture('proc-pid-stat-parens.txt'))).toBe(22937);
  });
});

describe('imageKey', () => {
  it('changes with the build script and the package list, not with the list order', () => {
    const k = imageKey('script', ['a', 'b']);
    expect(imageKey('script', ['b', 'a'])).toBe(k);
    expect(imageKey('script2', ['a', 'b'])).not.toBe(k);
    expect(imageKey('script', ['a', 'b', 'c'])).not.toBe(k);
    expect(k).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("the hypervisors' /dev/kvm", () => {
  it("finds the kvm group's id in the image's /etc/group (captured from the lab image)", () => {
    const group = fixture('lab-image-etc-group.txt');
    expect(groupId(group, 'kvm')).toBe(Number(/^kvm:x:(\d+):/m.exec(group)?.[1]));
    expect(groupId(group, 'root')).toBe(0);
    expect(groupId(group, 'kv')).toBeUndefined();
    expect(groupId('kvm:x::\nkvm:x:abc:\n', 'kvm')).toBeUndefined();
  });
  it("splits a device number as glibc does (this machine's /dev/null is 1:3)", () => {
    expect(deviceNumbers(statSync('/dev/null', { bigint: true }).rdev)).toEqual({ major: 1, minor: 3 });
    // glibc's makedev(): the low 8 bits of the minor, then 12 of the major, then the rest of each
    const makedev = (major: bigint, minor: bigint) => ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
    expect(makedev(1n, 3n)).toBe(0x103n);
    for (const [major, minor] of [[10, 232], [259, 300], [4097, 70000]] as const) {
      expect(deviceNumbers(makedev(BigInt(major), BigInt(minor)))).toEqual({ major, minor });
    }
  });
});

describe('a lab host', async () => {
  const inv = await loadInventory(path.resolve(here, '../../inventory.yaml'), { home: '/root' });
  const topo = labTopology(inv);
  const [storage, node1] = [topo.hosts[0]!, topo.hosts[1]!];

  it("starts with the address on its NIC, as Debian's installer leaves /etc/network/interfaces", () => {
    const text = installerInterfaces(node1, topo.prefix, topo.gateway);
    expect(text).toContain('source /etc/network/interfaces.d/*\n');
    expect(text).toContain('auto lo\niface lo inet loopback\n');
    expect(text).toContain('auto eth0\niface eth0 inet static\n\taddress 172.21.3.10/26\n\tgateway 172.21.3.1\n');
    expect(text).not.toContain('br0');
  });

  it('boots systemd in its own network namespace, with the repository read-only, lxcfs, and /dev/kvm on hypervisors', () => {
    const argv = nspawnArgv(node1, inv, '/cache/repo', { accel: 'kvm', sshdOnly: false, topo });
    expect(argv[0]).toBe('systemd-nspawn');
    expect(argv).toEqual(expect.arrayContaining([
      '--register=no', '--keep-unit', '--machine=hvmlab-kvmnode1', '--directory=/var/lib/hvmctl-lab/kvmnode1/root',
      '--network-namespace-path=/run/netns/hvmlab-kvmnode1', '--private-network',
      '--bind-ro=/cache/repo:/var/local/hvmlab-apt', '--bind-ro=/var/lib/hvmctl-lab/lxcfs:/var/lib/lxcfs', '--bind=/var/lib/hvmctl-lab/kvm:/dev/kvm',
    ]));
    expect(argv.at(-1)).toBe('--boot');
    expect(argv.some((a) => a.startsWith('--system-call-filter'))).toBe(false);
    expect(nspawnArgv(node1, inv, '/cache/repo', { accel: 'tcg', sshdOnly: false, topo }).filter((a) => a.endsWith(':/dev/kvm'))).toEqual([]);
  });

  it('the storage node gets its data disk at the export, and the file-handle calls its NFS server needs', () => {
    const argv = nspawnArgv(storage, inv, '/cache/repo', { accel: 'kvm', sshdOnly: false, topo });
    expect(argv).toContain('--bind=/var/lib/hvmctl-lab/kvmstorage/data:/srv/kvmshared');
    expect(argv).toContain('--system-call-filter=open_by_handle_at name_to_handle_at');
    expect(argv.filter((a) => a.endsWith(':/dev/kvm'))).toEqual([]);
  });

  it('--sshd-only: no init, the NIC brought up with ifup, iptables installed once, sshd in the foreground', () => {
    const argv = nspawnArgv(node1, inv, '/cache/repo', { accel: 'kvm', sshdOnly: true, topo });
    expect(argv).not.toContain('--boot');
    expect(argv.slice(-4, -1)).toEqual(['--as-pid2', '/bin/sh', '-c']);
    const start = argv.at(-1)!.split(' && ');
    expect(start[1]).toBe('ifup -a');
    expect(start[2]).toMatch(/^if ! command -v iptables-restore .*apt-get install .* iptables /);
    expect(start.at(-1)).toBe('exec /usr/sbin/sshd -D -e');
  });
});
