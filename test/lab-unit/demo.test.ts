import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoSummary } from '../../cli/lab-demo.ts';
import { enterArgv } from '../../lab/enter.ts';
import type { LabState } from '../../lab/lab-record.ts';
import { accountingHierarchies, hostCgroups, labTopology } from '../../lab/topology.ts';
import { loadInventory } from '../../src/inventory/load.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function fixtureState(): Promise<{ state: LabState; inv: Awaited<ReturnType<typeof loadInventory>> }> {
  const inv = await loadInventory(path.join(repo, 'inventory.yaml'), { home: '/root' });
  const topo = labTopology(inv);
  const state: LabState = {
    version: 2,
    inventory: inv.file,
    knownHosts: inv.ssh.knownHosts,
    identity: inv.ssh.identity,
    bridge: topo.bridge,
    gatewayCidr: topo.gatewayCidr,
    startedAt: '2026-01-01T00:00:00.000Z',
    accel: 'kvm',
    image: '/var/cache/hvmctl-lab/image-0123456789abcdef',
    hierarchies: ['cpu', 'cpuacct', 'memory', 'systemd', 'unified'],
    hosts: topo.hosts,
  };
  return { state, inv };
}

describe('demoSummary', () => {
  it('says where every host and guest runs and how to leave', async () => {
    const { state, inv } = await fixtureState();
    const text = demoSummary(state, inv, [
      { name: 'server1', host: 'kvmnode1', state: 'running' },
      { name: 'server2', host: 'kvmnode2', state: 'running' },
      { name: 'server3', host: undefined, state: 'shut off' },
    ]);
    expect(text).toContain('kvmstorage  172.21.3.13   storage, NFS export /srv/kvmshared');
    expect(text).toContain('kvmnode1    172.21.3.10   hypervisor; guests: server1');
    expect(text).toContain('kvmnode2    172.21.3.11   hypervisor; guests: server2');
    expect(text).toMatch(/kvmnode3 +172\.21\.3\.12 +hypervisor\n/);
    expect(text).toContain('hvmctl lab down');
    expect(text).toContain('hvmctl lab ssh kvmnode1');
  });
});

describe('enterArgv', () => {
  it("joins the host's accounting cgroups (not its systemd's), then nsenters every namespace of its init and its root, with a clean environment", async () => {
    const { state } = await fixtureState();
    const entry = { name: 'kvmnode1', initPid: 1001, cgroups: hostCgroups(accountingHierarchies(state.hierarchies), 'kvmnode1') };
    const argv = enterArgv(entry, ['virsh', 'list'], { TERM: 'xterm', SECRET: 'x' });
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const after = argv.slice(3);
    expect(after.slice(0, 5)).toEqual(['hvmlab-enter', '/sys/fs/cgroup/cpu/hvmlab/kvmnode1', '/sys/fs/cgroup/cpuacct/hvmlab/kvmnode1', '/sys/fs/cgroup/memory/hvmlab/kvmnode1', '--']);
    expect(after.slice(5, 16)).toEqual(['nsenter', '-t', '1001', '-m', '-u', '-i', '-n', '-p', '-C', '--root', '--wd']);
    expect(argv).toContain('TERM=xterm');
    expect(argv.join(' ')).not.toContain('SECRET');
    expect(argv.slice(-2)).toEqual(['virsh', 'list']);
  });
});
