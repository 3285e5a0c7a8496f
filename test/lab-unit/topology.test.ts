import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.ts';
import { accountingHierarchies, hostCgroups, labTopology } from '../../lab/topology.ts';
import { parseLabArgs, run as labRun } from '../../cli/lab.ts';
import { formatStatus, servicesIn } from '../../lab/status.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('labTopology (default inventory)', () => {
  it('names every lab object hvmlab*, with the inventory addresses and MACs', async () => {
    const inv = await loadInventory(path.join(repo, 'inventory.yaml'), { home: '/home/op' });
    const t = labTopology(inv);
    expect(t.bridge).toBe('hvmlab0');
    expect(t.gatewayCidr).toBe('172.21.3.1/26');
    expect(t.hosts.map((h) => [h.name, h.role, h.address, h.mac, h.interface, h.netns, h.veth])).toEqual([
      ['kvmstorage', 'storage', '172.21.3.13', '52:54:00:15:03:0d', 'eth0', 'hvmlab-kvmstorage', 'hvmlab-v0'],
      ['kvmnode1', 'hypervisor', '172.21.3.10', '52:54:00:15:03:0a', 'eth0', 'hvmlab-kvmnode1', 'hvmlab-v1'],
      ['kvmnode2', 'hypervisor', '172.21.3.11', '52:54:00:15:03:0b', 'eth0', 'hvmlab-kvmnode2', 'hvmlab-v2'],
      ['kvmnode3', 'hypervisor', '172.21.3.12', '52:54:00:15:03:0c', 'eth0', 'hvmlab-kvmnode3', 'hvmlab-v3'],
    ]);
    expect(t.hosts[1]!.cpuacct).toBe('/sys/fs/cgroup/cpuacct/hvmlab/kvmnode1');
    expect(t.hosts.map((h) => [h.name, h.cpus, h.memoryMiB])).toEqual([
      ['kvmstorage', 1, 2048],
      ['kvmnode1', 1, 4096],
      ['kvmnode2', 1, 4096],
      ['kvmnode3', 1, 4096],
    ]);
    for (const h of t.hosts) expect(h.veth.length).toBeLessThanOrEqual(15); // IFNAMSIZ
  });

  it("puts a host's cgroup in every hierarchy, but joins only the accounting ones for commands run in it", () => {
    const hierarchies = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'systemd', 'unified'];
    expect(hostCgroups(hierarchies, 'kvmnode2')).toEqual(hierarchies.map((h) => `/sys/fs/cgroup/${h}/hvmlab/kvmnode2`));
    expect(accountingHierarchies(hierarchies)).toEqual(['cpu', 'cpuacct', 'cpuset', 'memory', 'pids']);
  });
});

describe('parseLabArgs', () => {
  it('splits exec at --', () => {
    expect(parseLabArgs(['exec', 'kvmnode1', '--', 'ls', '-l'], '/r')).toEqual({
      inventory: '/r/inventory.yaml', json: false, sshdOnly: false, tcg: false, all: false, balance: false, rest: ['exec', 'kvmnode1'], command: ['ls', '-l'],
    });
  });
  it('takes reboot --all and demo --balance', () => {
    expect(parseLabArgs(['reboot', '--all'], '/r')).toMatchObject({ all: true, rest: ['reboot'] });
    expect(parseLabArgs(['demo', '--balance'], '/r')).toMatchObject({ balance: true, rest: ['demo'] });
  });
  it('takes -i and --json', () => {
    expect(parseLabArgs(['status', '--json', '-i', 'x.yaml'], '/r')).toMatchObject({ inventory: '/r/x.yaml', json: true, rest: ['status'] });
  });
  it('passes options after the ssh host to the remote command', () => {
    expect(parseLabArgs(['ssh', 'kvmnode1', 'ls', '-l'], '/r').rest).toEqual(['ssh', 'kvmnode1', 'ls', '-l']);
  });
  it('refuses unknown options', () => {
    expect(() => parseLabArgs(['up', '--bogus'], '/r')).toThrow(/unknown option --bogus/);
  });
});

describe('status', () => {
  it('recognises the services by process name (comm is cut at 15 characters)', () => {
    expect(servicesIn(['bash', 'sshd', 'cron', 'libvirtd', 'virtlogd', 'qemu-system-x86', 'sleep'])).toEqual(['sshd', 'cron', 'virtlogd', 'libvirtd', 'qemu-system-x86']);
    expect(servicesIn(['systemd', 'systemd-journal', 'dbus-daemon', 'sshd'])).toEqual(['systemd-journal', 'dbus-daemon', 'sshd']);
    expect(servicesIn(['ganesha.nfsd', 'rpcbind'])).toEqual(['rpcbind', 'ganesha.nfsd']);
  });
  it('formats a table', () => {
    const state = {
      version: 2 as const, inventory: '/r/inventory.yaml', knownHosts: '/root/.ssh/known_hosts', identity: '/root/.ssh/id_ed25519', bridge: 'hvmlab0',
      gatewayCidr: '172.21.3.1/26', startedAt: '2026-01-01T00:00:00.000Z', accel: 'kvm' as const, image: '/i', hierarchies: [], hosts: [],
    };
    const text = formatStatus(state, [
      { name: 'kvmnode1', role: 'hypervisor', address: '172.21.3.10', netns: 'hvmlab-kvmnode1', initPid: 42, up: true, init: 'systemd', services: ['sshd', 'cron'], cpus: 1, memoryMiB: 4096 },
      { name: 'kvmnode2', role: 'hypervisor', address: '172.21.3.11', netns: 'hvmlab-kvmnode2', initPid: 0, up: false, init: '', services: [], cpus: 1, memoryMiB: 4096 },
    ]);
    expect(text).toContain('kvmnode1  hypervisor  172.21.3.10  1 cpu 4096 MiB  42        up (systemd)  sshd,cron');
    expect(text).toContain('kvmnode2  hypervisor  172.21.3.11  1 cpu 4096 MiB  -         DOWN          -');
  });
});

describe('hvmctl lab --help', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out: (t: string) => out.push(t), err: (t: string) => err.push(t), cwd: '/nonexistent', env: {}, stdout: out, stderr: err, isTTY: false };
  };
  it('prints the help after a command too, doing nothing else (no lab needed, nothing read)', async () => {
    for (const argv of [['up', '--help'], ['down', '-h'], ['reboot', 'kvmnode1', '--help'], ['load', 'server1', '50', '--help'], ['ssh', '--help']]) {
      const i = io();
      expect(await labRun(argv, i as never)).toBe(0);
      expect(i.stdout.join('\n')).toMatch(/^usage: hvmctl lab <command>/);
    }
  });
  it('leaves a --help that belongs to the command run in a host alone', () => {
    expect(parseLabArgs(['exec', 'kvmnode1', '--', 'ls', '--help'], '/r')).toMatchObject({ command: ['ls', '--help'] });
    expect(parseLabArgs(['ssh', 'kvmnode1', 'ls', '--help'], '/r')).toMatchObject({ rest: ['ssh', 'kvmnode1', 'ls', '--help'] });
  });
  it('says the usage of reboot before it looks for a lab', async () => {
    await expect(labRun(['reboot'], io() as never)).rejects.toThrow(/usage: hvmctl lab reboot HOST...\|--all/);
  });
});
