// The agent's configuration (balancer/config.ts) and the remote host reader.
import { describe, expect, it } from 'vitest';
import { BalancerConfigError, parseAgentConfig } from '../../balancer/config.ts';
import type { RunProcess } from '../../src/process.ts';
import { createPeers } from '../../balancer/peers.ts';
import { createHostFiles } from '../../balancer/host-files.ts';
import { ConnectError } from '../../src/errors.ts';
import schema from '../../src/inventory/schema.json' with { type: 'json' };

const hosts = [
  { name: 'kvmstorage', address: '172.21.3.13', fqdn: 'kvmstorage.localdomain', role: 'storage' },
  { name: 'kvmnode1', address: '172.21.3.10', fqdn: 'kvmnode1.localdomain', role: 'hypervisor' },
  { name: 'kvmnode2', address: '172.21.3.11', fqdn: 'kvmnode2.localdomain', role: 'hypervisor' },
];
// As src/render/balancer-config.ts renders it.
const rendered = {
  managedBy: 'hvmctl', strategy: 'home', home: { hosts: ['kvmnode1'], helpers: ['kvmnode2'], high: 80, overloadWindow: 2, low: 50, calmWindow: 3, cooldown: 600 },
  maxMigrationsPerRun: 1, migrationTimeout: 120, sampleSeconds: 5, cpuSource: 'procstat', schedule: '* * * * *', pinned: [], drained: [],
  hosts, libvirtUri: 'qemu+ssh://{fqdn}/system',
  log: '/var/log/hvmctl/balancer.log', state: '/var/lib/hvmctl/balancer-state.json', lock: '/var/lib/hvmctl/balancer.lock',
};

describe('agent config', () => {
  it('reads the file apply renders', () => {
    const c = parseAgentConfig(rendered, '/etc/hvmctl/balancer.json', 'kvmnode1.localdomain');
    expect(c.self).toBe('kvmnode1');
    expect(c.balancer).toMatchObject({ strategy: 'home', home: { hosts: ['kvmnode1'], high: 80, low: 50, overloadWindow: 2 }, sampleSeconds: 5, cpuSource: 'procstat' });
    expect(c.paths).toEqual({ state: '/var/lib/hvmctl/balancer-state.json', log: '/var/log/hvmctl/balancer.log', jsonl: '/var/log/hvmctl/balancer.jsonl', lock: '/var/lib/hvmctl/balancer.lock', metrics: '/var/lib/prometheus/node-exporter/hvmctl.prom', drains: '/var/lib/hvmctl/drains.json', leader: '' });
    expect(c.libvirtUri).toBe('qemu+ssh://{fqdn}/system');
  });
  it('takes the inventory spelling under "balancer" too, and finds itself by hostname', () => {
    const c = parseAgentConfig({ hosts, balancer: { strategy: 'home', home: { hosts: ['kvmnode1'], helpers: ['kvmnode2'], high: 85, low: 40, overload_window: 4 }, cpu_source: 'cgroup:/sys/fs/cgroup/cpuacct/hvmlab/{host}' } }, 'f', 'kvmnode2');
    expect(c.self).toBe('kvmnode2');
    expect(c.balancer).toMatchObject({ home: { high: 85, low: 40, overloadWindow: 4, calmWindow: 3 }, cpuSource: 'cgroup:/sys/fs/cgroup/cpuacct/hvmlab/{host}' });
  });
  it('refuses to run on a machine that is none of the hypervisors (no "self" in the file), saying which hostname it has', () => {
    expect(() => parseAgentConfig(rendered, '/etc/hvmctl/balancer.json', 'backup01')).toThrow(
      /\/etc\/hvmctl\/balancer\.json: this machine's hostname "backup01" is none of the hypervisors in "hosts" \(kvmnode1, kvmnode2\) by name, FQDN or short name, and the file names no "self": refusing to run as another host/,
    );
    expect(parseAgentConfig({ ...rendered, self: 'kvmnode2' }, 'f', 'backup01').self).toBe('kvmnode2');
  });
  it('reads the consolidate strategy with its own defaults, and runs on the first of its hosts', () => {
    const c = parseAgentConfig({ hosts, strategy: 'consolidate', consolidate: { hosts: ['kvmnode2', 'kvmnode1'], on_empty: ['/usr/local/sbin/bmc', 'off', '{host}'] } }, 'f');
    expect(c.self).toBe('kvmnode2');
    expect(c.balancer).toMatchObject({ strategy: 'consolidate', consolidate: { high: 90, low: 40, overloadWindow: 2, calmWindow: 2, cooldown: 600, cooldownMemory: 86400, history: 3600, onEmpty: ['/usr/local/sbin/bmc', 'off', '{host}'] } });
  });
  it.each([
    [{ ...rendered, hosts: [] }, /"hosts" must be a non-empty array/],
    [{ ...rendered, home: { ...rendered.home, hosts: ['kvmstorage'] } }, /balancer\.home\.hosts names "kvmstorage", which is not a hypervisor/],
    [{ ...rendered, home: { ...rendered.home, low: 80 } }, /balancer\.home\.low \(80\) must be below balancer\.home\.high \(80\)/],
    [{ ...rendered, home: { ...rendered.home, high: '80' } }, /balancer\.home\.high must be a number from 1 to 100 \(got "80"\)/],
    [{ ...rendered, strategy: undefined }, /balancer\.strategy is missing: this file predates named strategies/],
    [{ ...rendered, strategy: 'pool' }, /balancer\.strategy is "pool", expected "home" or "consolidate"/],
    [{ ...rendered, strategy: 'consolidate', consolidate: { hosts: ['kvmnode1'], on_empty: 'poweroff' } }, /balancer\.consolidate\.on_empty must be a non-empty list of arguments/],
    [{ ...rendered, strategy: 'consolidate', consolidate: { hosts: ['kvmnode1'], history: 60 } }, /balancer\.consolidate\.history must be a number from 300 to 21600 \(got 60\)/],
    [{ ...rendered, cpuSource: 'mpstat' }, /cpu_source is "mpstat"/],
    [{ ...rendered, state: 'relative/state.json' }, /state must be an absolute path/],
    [{ ...rendered, libvirtUri: 'qemu:///system' }, /libvirtUri must be a URI template/],
    [{ ...rendered, hosts: [{ ...hosts[1], sshPort: '22' }] }, /hosts\[0\]\.sshPort must be a port number \(got "22"\)/],
    [{ ...rendered, hosts: [{ ...hosts[1], role: 'router' }] }, /hosts\[0\]\.role is "router"/],
    [[], /expected a JSON object/],
  ])('rejects a bad file with a message naming the field (%#)', (data, message) => {
    const fn = () => parseAgentConfig(data, '/etc/hvmctl/balancer.json');
    expect(fn).toThrow(BalancerConfigError);
    expect(fn).toThrow(message);
    expect(fn).toThrow(/^\/etc\/hvmctl\/balancer\.json: /);
  });
});

describe('each strategy has one set of defaults', () => {
  it.each(['home', 'consolidate'] as const)('%s: the agent fills in what the inventory schema does', (name) => {
    const props = (schema.properties.balancer.properties[name] as { properties: Record<string, { default?: unknown }> }).properties;
    const c = parseAgentConfig({ hosts, strategy: name, [name]: { hosts: ['kvmnode1'] } }, 'f');
    const settings = (c.balancer as unknown as Record<string, Record<string, unknown>>)[name] as Record<string, unknown>;
    const camel = (k: string): string => k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    const withDefault = Object.entries(props).filter(([, p]) => p.default !== undefined);
    expect(withDefault.length).toBeGreaterThanOrEqual(5);
    for (const [key, p] of withDefault) expect([key, settings[camel(key)]]).toEqual([key, p.default]);
  });
});

describe('host files over ssh', () => {
  it('reads several files in one ssh call, every path quoted, host key checked', async () => {
    const calls: (readonly string[])[] = [];
    const exec: RunProcess = async (argv) => {
      calls.push(argv);
      return { code: 1, stdout: '==> /proc/stat <==\ncpu  1 2 3 4\n\n==> /x y <==\n5\n', stderr: "head: cannot open '/z'", timedOut: false };
    };
    const files = createHostFiles('kvmnode1', createPeers('kvmnode1', hosts, exec));
    const m = await files.read('kvmnode2', ['/proc/stat', '/x y', '/z']);
    expect(calls).toEqual([['ssh', '-p', '22', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'StrictHostKeyChecking=yes', 'root@kvmnode2.localdomain', '--', "head -n 100000 -v /proc/stat '/x y' /z"]]);
    expect([...m]).toEqual([['/proc/stat', 'cpu  1 2 3 4\n'], ['/x y', '5\n'], ['/z', undefined]]);
  });
  it("connects to the port the host's sshd listens on (sshPort in the file)", async () => {
    const calls: (readonly string[])[] = [];
    const exec: RunProcess = async (argv) => {
      calls.push(argv);
      return { code: 0, stdout: '==> /proc/stat <==\ncpu  1 2 3 4\n', stderr: '', timedOut: false };
    };
    const c = parseAgentConfig({ ...rendered, hosts: [hosts[0], hosts[1], { ...hosts[2], sshPort: 2200 }] }, 'f', 'kvmnode1');
    await createHostFiles('kvmnode1', createPeers('kvmnode1', c.hosts, exec)).read('kvmnode2', ['/proc/stat']);
    expect(calls[0]?.slice(0, 3)).toEqual(['ssh', '-p', '2200']);
    expect(c.hosts.map((h) => h.sshPort)).toEqual([22, 22, 2200]);
  });
  it('an unreachable host is a ConnectError', async () => {
    const files = createHostFiles('kvmnode1', createPeers('kvmnode1', hosts, async () => ({ code: 255, stdout: '', stderr: 'ssh: connect to host kvmnode2 port 22: No route to host', timedOut: false })));
    await expect(files.read('kvmnode2', ['/proc/stat'])).rejects.toThrow(ConnectError);
    await expect(files.read('kvmnode2', ['/proc/stat'])).rejects.toThrow(/No route to host/);
  });
});
