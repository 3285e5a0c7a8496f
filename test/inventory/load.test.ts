import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HvmError } from '../../src/errors.ts';
import { InventoryError, inventorySchema, loadInventory, parseInventory } from '../../src/inventory/load.ts';
import { hypervisors, storageHosts } from '../../src/inventory/types.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = path.join(root, 'test/fixtures/inventories');
const fixture = (name: string) => path.join(fixtures, name);

/** The issues parseInventory reports for `text` (it must refuse it). */
function issuesOf(text: string): readonly InventoryError['issues'][number][] {
  try {
    parseInventory(text, 'x.yaml');
  } catch (error) {
    if (error instanceof InventoryError) return error.issues;
    throw error;
  }
  throw new Error('accepted');
}

async function problems(file: string): Promise<InventoryError> {
  try {
    await loadInventory(fixture(file), { home: '/home/op' });
  } catch (error) {
    if (error instanceof InventoryError) return error;
    throw error;
  }
  throw new Error(`${file} was accepted`);
}

describe('the default inventory', () => {
  it('loads and is normalized', async () => {
    const inv = await loadInventory(path.join(root, 'inventory.yaml'), { home: '/home/op' });
    expect(inv.file).toBe(path.join(root, 'inventory.yaml'));
    expect(inv.cluster).toEqual({
      domain: 'localdomain',
      network: '172.21.3.0/26',
      prefix: 26,
      netmask: '255.255.255.192',
      networkAddress: '172.21.3.0',
      broadcast: '172.21.3.63',
      gateway: '172.21.3.1',
      bridge: 'br0',
    });
    expect(inv.ssh.identity).toBe('/home/op/.ssh/id_ed25519');
    expect(inv.ssh.knownHosts).toBe('/home/op/.ssh/known_hosts');
    expect(inv.hosts.map((h) => `${h.role}:${h.name}`)).toEqual([
      'storage:kvmstorage',
      'hypervisor:kvmnode1',
      'hypervisor:kvmnode2',
      'hypervisor:kvmnode3',
    ]);
    expect(inv.hosts[1]).toEqual({
      name: 'kvmnode1',
      fqdn: 'kvmnode1.localdomain',
      role: 'hypervisor',
      address: '172.21.3.10',
      mac: '52:54:00:15:03:0a',
      interface: 'eth0',
      osFamily: 'debian',
      networkBackend: 'ifupdown',
      sshHost: '172.21.3.10',
      sshPort: 22,
      sshdPort: 22,
    });
    expect(inv.nfs).toEqual({ server: 'ganesha', client: 'qemu', export: '/srv/kvmshared', mount: '/var/lib/libvirt/images/kvmshared', locks: { dir: '/var/lib/hvmctl/lockd', mount: false } });
    expect(inv.firewall.migrationPorts).toEqual([49152, 49215]);
    expect(inv.balancer).toMatchObject({ strategy: 'home', home: { hosts: ['kvmnode1'], helpers: ['kvmnode2', 'kvmnode3'], high: 80, low: 50, overloadWindow: 2, calmWindow: 2, cooldown: 180 } });
    expect(storageHosts(inv).map((h) => h.name)).toEqual(['kvmstorage']);
    expect(hypervisors(inv)).toHaveLength(3);
  });

  it('the seed-redhat fixture loads with its overrides', async () => {
    const inv = await loadInventory(fixture('seed-redhat.yaml'), { home: '/root' });
    expect(inv.hosts.every((h) => h.osFamily === 'redhat')).toBe(true);
    expect(inv.hosts[0]?.mac).toBe('00:1a:4b:15:03:0d'); // lower-cased
    expect(inv.ssh).toMatchObject({ identity: '/root/.ssh/id_rsa', clusterKeyType: 'rsa' });
    expect(inv.nfs).toMatchObject({ server: 'kernel', client: 'kernel' });
  });
});

const minimal = `cluster:
  domain: example.org
  network: 10.1.0.0/24
  gateway: 10.1.0.254
storage:
  hosts:
    nas:
      address: 10.1.0.5
      mac: "AA:BB:CC:00:00:05"
hypervisors:
  hosts:
    hv-b:
      address: 10.1.0.12
      mac: "aa:bb:cc:00:00:12"
      os_family: redhat
      ssh_host: hv-b.mgmt.example.org
      ssh_port: 2222
      sshd_port: 22
    hv-a:
      address: 10.1.0.11
      mac: "aa:bb:cc:00:00:11"
      interface: enp1s0
`;

describe('defaults and normalization', () => {
  const inv = parseInventory(minimal, 'mini.yaml', { home: '/home/me' });

  it('fills every default', () => {
    expect(inv.cluster.bridge).toBe('br0');
    expect(inv.ssh).toEqual({
      user: 'root',
      port: 22,
      identity: '/home/me/.ssh/id_ed25519',
      knownHosts: '/home/me/.ssh/known_hosts',
      clusterKeyType: 'ed25519',
    });
    expect(inv.nfs).toEqual({ server: 'kernel', client: 'kernel', export: '/srv/kvmshared', mount: '/var/lib/libvirt/images/kvmshared', locks: { dir: '/var/lib/libvirt/images/kvmshared/.hvmctl-lockd', mount: false } });
    expect(inv.pool).toEqual({ name: 'default', path: '/var/lib/libvirt/images/kvmshared' });
    expect(inv.firewall).toEqual({ backend: 'auto', migrationPorts: [49152, 49215], libvirtPorts: [], nfsPorts: [111, 2049, 20048] });
    expect(inv.balancer).toEqual({
      strategy: 'home',
      home: { hosts: ['hv-b'], helpers: ['hv-a'], high: 80, overloadWindow: 2, low: 50, calmWindow: 3, cooldown: 600 },
      maxMigrationsPerRun: 1,
      migrationTimeout: 120,
      sampleSeconds: 5,
      cpuSource: 'procstat',
      schedule: '* * * * *',
      pinned: [],
      drained: [],
    });
  });

  it('keeps file order, computes the network and takes per-host overrides', () => {
    expect(inv.hosts.map((h) => h.name)).toEqual(['nas', 'hv-b', 'hv-a']);
    expect(inv.cluster).toMatchObject({ prefix: 24, netmask: '255.255.255.0', networkAddress: '10.1.0.0', broadcast: '10.1.0.255' });
    const [nas, b, a] = inv.hosts;
    expect(nas).toMatchObject({ fqdn: 'nas.example.org', mac: 'aa:bb:cc:00:00:05', osFamily: 'debian', interface: 'eth0', sshHost: '10.1.0.5', sshPort: 22 });
    expect(b).toMatchObject({ osFamily: 'redhat', sshHost: 'hv-b.mgmt.example.org', sshPort: 2222, sshdPort: 22 });
    expect(nas?.sshdPort).toBe(22);
    expect(a).toMatchObject({ interface: 'enp1s0', osFamily: 'debian' });
  });

  it("a host's timeout (seconds) is kept; none means the command line's --timeout; 0 is refused with its location", () => {
    expect(inv.hosts.map((h) => h.timeout)).toEqual([undefined, undefined, undefined]);
    const slow = parseInventory(minimal.replace('      interface: enp1s0\n', '      interface: enp1s0\n      timeout: 1800\n'), 'x.yaml');
    expect(slow.hosts.find((h) => h.name === 'hv-a')?.timeout).toBe(1800);
    expect(() => parseInventory(minimal.replace('      interface: enp1s0\n', '      interface: enp1s0\n      timeout: 0\n'), 'x.yaml')).toThrow(
      /x\.yaml:23:16: hypervisors\.hosts\.hv-a\.timeout: /,
    );
  });

  it('resolves the file path', () => {
    expect(inv.file).toBe(path.resolve('mini.yaml'));
  });
});

// [fixture, line, column, message fragment]
const broken: [string, number, number, string][] = [
  ['bad-address-outside.yaml', 17, 16, 'hypervisors.hosts.kvmnode2.address: "172.21.3.99" is not inside the cluster network 172.21.3.0/26'],
  ['bad-broadcast-address.yaml', 17, 16, 'hypervisors.hosts.kvmnode2.address: "172.21.3.63" is the broadcast address of 172.21.3.0/26'],
  ['bad-gateway-outside.yaml', 5, 12, 'cluster.gateway: "10.0.0.1" is not inside the cluster network 172.21.3.0/26'],
  ['bad-network-host-bits.yaml', 4, 12, 'cluster.network: "172.21.3.5/26" has host bits set; write the network address, 172.21.3.0/26'],
  ['bad-bad-cidr.yaml', 4, 12, 'cluster.network: "172.21.3.0" is not a network in CIDR notation like 172.21.3.0/26'],
  ['bad-duplicate-address.yaml', 17, 16, 'hypervisors.hosts.kvmnode2.address: "172.21.3.10" is already the address of kvmnode1'],
  ['bad-duplicate-mac.yaml', 18, 12, 'hypervisors.hosts.kvmnode2.mac: "52:54:00:15:03:0A" is already the MAC address of kvmnode1'],
  ['bad-duplicate-hostname.yaml', 16, 5, 'hypervisors.hosts.kvmstorage: host name "kvmstorage" is already used in storage.hosts'],
  ['bad-duplicate-key.yaml', 19, 7, 'YAML syntax: duplicate key "address"'],
  ['bad-yaml-syntax.yaml', 22, 1, 'YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ['bad-missing-mac.yaml', 16, 5, 'hypervisors.hosts.kvmnode2: missing required property "mac"'],
  ['bad-mac-format.yaml', 15, 12, 'hypervisors.hosts.kvmnode1.mac: "52-54-00-15-03-0a" is not a MAC address'],
  ['bad-network-backend.yaml', 25, 18, 'hypervisors.hosts.kvmnode1.network.backend: "ifcfg" is not a network backend of ubuntu (hypervisors.hosts.kvmnode1 is ubuntu); choose one of ifupdown, networkmanager, netplan, networkd'],
  ['bad-os-family-enum.yaml', 6, 14, 'cluster.os_family: "arch" is not one of debian, ubuntu, redhat'],
  ['bad-no-hypervisors.yaml', 12, 3, 'hypervisors.hosts: is empty; at least 1 host is required'],
  ['bad-two-storage.yaml', 7, 3, 'storage.hosts: has 2 hosts; exactly 1 is supported'],
  ['bad-balancer-home-storage.yaml', 21, 13, 'balancer.home.hosts[0]: "kvmstorage" is not a hypervisor (hypervisors: kvmnode1, kvmnode2)'],
  ['bad-balancer-thresholds.yaml', 22, 10, 'balancer.home.low: 75 must be below balancer.home.high (70)'],
  ['bad-balancer-overlap.yaml', 22, 25, 'balancer.home.helpers[1]: "kvmnode1" is also a home host'],
  ['bad-pinned-name.yaml', 20, 21, 'balancer.pinned[1]: "server 2" is not a plain name'],
  ['bad-pool-relative.yaml', 20, 9, 'pool.path: "images/kvmshared" is not an absolute path'],
  ['bad-port-range.yaml', 20, 20, 'firewall.migration_ports: "49215-49152" must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535'],
  ['bad-hostname.yaml', 16, 5, 'hypervisors.hosts.KVM_node2: "KVM_node2" is not a short host name'],
  ['bad-wrong-type.yaml', 20, 9, 'ssh.port: expected a whole number, got "22"'],
  ['bad-empty-address.yaml', 17, 7, 'hypervisors.hosts.kvmnode2.address: expected a string, got nothing (the value is empty)'],
];

describe('broken inventories', () => {
  it.each(broken)('%s fails at %i:%i', async (file, line, column, fragment) => {
    const error = await problems(file);
    expect(error.issues).toHaveLength(1);
    const [issue] = error.issues;
    expect(issue?.message).toContain(fragment);
    expect({ line: issue?.line, column: issue?.column }).toEqual({ line, column });
    expect(issue?.file.endsWith(file)).toBe(true);
    expect(error.message).toContain(`${file}:${line}:${column}: `);
    expect(error.message).toContain(fragment);
  });

  it('misspelt property: the key is named, with a suggestion, and the missing one is reported too', async () => {
    const error = await problems('bad-unknown-property.yaml');
    expect(error.issues.map((i) => [i.line, i.column, i.message])).toEqual([
      [13, 5, 'hypervisors.hosts.kvmnode1: missing required property "address"'],
      [14, 7, 'hypervisors.hosts.kvmnode1.adress: unknown property "adress"; did you mean "address"?'],
    ]);
  });

  it('reports several schema problems at once, in file order', async () => {
    const error = await problems('bad-several.yaml');
    expect(error.issues.map((i) => [i.line, i.column, i.message])).toEqual([
      [6, 3, 'cluster.colour: unknown property "colour"; expected one of domain, network, gateway, os_family, bridge'],
      [15, 16, 'hypervisors.hosts.kvmnode1.address: "172.21.3.300" is not an IPv4 address like 172.21.3.10'],
      [17, 5, 'hypervisors.hosts.kvmnode2: missing required property "mac"'],
      [20, 11, 'nfs.server: "nfsd" is not one of kernel, ganesha'],
    ]);
    expect(error.message.split('\n')[0]).toMatch(/^4 problems in .*bad-several\.yaml:$/);
  });

  it('reports several cross-field problems at once', async () => {
    const error = await problems('bad-several-cross.yaml');
    expect(error.issues.map((i) => `${i.line}:${i.column}`)).toEqual(['17:16', '21:13', '23:10']);
    expect(error.issues.map((i) => i.message.split(':')[0])).toEqual([
      'hypervisors.hosts.kvmnode2.address',
      'balancer.home.hosts[0]',
      'balancer.home.low',
    ]);
  });

  it('is an HvmError with code E_INVENTORY, exit code 65 and a hint', async () => {
    const error = await problems('bad-address-outside.yaml');
    expect(error).toBeInstanceOf(HvmError);
    expect(error.code).toBe('E_INVENTORY');
    expect(error.exitCode).toBe(65);
    expect(error.hint).toMatch(/nothing was changed on any host/);
  });

  it('covers at least fifteen broken fixtures', () => {
    expect(broken.length).toBeGreaterThanOrEqual(15);
  });

  it('a missing file names the file and says how to point at one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-inv-'));
    const error = await loadInventory(path.join(dir, 'nope.yaml')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InventoryError);
    expect((error as InventoryError).message).toContain('nope.yaml:1:1: cannot read the inventory (ENOENT)');
    expect((error as InventoryError).hint).toContain('-i FILE');
  });

  it('an empty file says what is missing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-inv-'));
    await writeFile(path.join(dir, 'empty.yaml'), '# nothing\n');
    const error = (await loadInventory(path.join(dir, 'empty.yaml')).catch((e: unknown) => e)) as InventoryError;
    expect(error.issues.map((i) => i.message)).toEqual([
      '(top level): missing required property "cluster"',
      '(top level): missing required property "storage"',
      '(top level): missing required property "hypervisors"',
    ]);
  });

  it('a pool outside the NFS mount is refused only for the kernel NFS client', () => {
    const text = `${minimal}pool:\n  path: /var/lib/libvirt/images\n`;
    expect(() => parseInventory(text, 'x.yaml')).toThrow(/x\.yaml:24:9: pool\.path: "\/var\/lib\/libvirt\/images" is not on the NFS mount/);
    expect(parseInventory(`${text}nfs:\n  client: qemu\n`, 'x.yaml').pool.path).toBe('/var/lib/libvirt/images');
    // With QEMU's own NFS client the lockspace is mounted by itself over the kernel's.
    expect(parseInventory(`${text}nfs:\n  client: qemu\n`, 'x.yaml').nfs.locks).toEqual({ dir: '/var/lib/hvmctl/lockd', mount: true });
  });

  it('a bad cron schedule and an interface named like the bridge are refused', () => {
    const text = minimal.replace('interface: enp1s0', 'interface: br0') + 'balancer:\n  schedule: "* * *"\n';
    const error = (() => {
      try {
        parseInventory(text, 'x.yaml');
      } catch (e) {
        return e as InventoryError;
      }
      throw new Error('accepted');
    })();
    expect(error.issues.map((i) => `${i.line}:${i.column} ${i.message}`)).toEqual([
      `22:18 hypervisors.hosts.hv-a.interface: "br0" is the bridge's name; name the physical interface enslaved to it`,
      '24:13 balancer.schedule: "* * *" is not a cron schedule: five fields like "* * * * *" (minute hour day-of-month month day-of-week, one space or tab between them) or an @keyword like @daily',
    ]);
  });

  it.each([
    ['"* * * * *\\n* * * * * root evil"', 'is not a cron schedule'],
    ['"* * * * * /bin/sh -c evil"', 'is not a cron schedule'],
    ['"60 * * * *"', 'balancer.schedule: "60 * * * *": minute field: "60" is outside 0-59'],
    ['"@reboot"', 'balancer.schedule: "@reboot" is not one of @hourly, @daily'],
  ])('balancer.schedule %s is refused at load time, with its location', (value, message) => {
    const error = issuesOf(`${minimal}balancer:\n  schedule: ${value}\n`);
    expect(error.map((i) => `${i.line}:${i.column}`)).toEqual(['24:13']);
    expect(error[0]?.message).toContain(message);
  });

  it('firewall.backend: nftables, which apply never could drive, is refused at load time with its line and the fix', () => {
    const error = issuesOf(`${minimal}firewall:\n  backend: nftables\n`);
    expect(error.map((i) => `${i.line}:${i.column} ${i.message}`)).toEqual([
      '24:12 firewall.backend: "nftables" is not one of auto, firewalld, iptables (apply writes iptables rules; on an nftables host iptables-nft loads them into nftables: set iptables, or auto)',
    ]);
    expect(parseInventory(`${minimal}firewall:\n  backend: iptables\n`, 'x.yaml').firewall.backend).toBe('iptables');
  });

  it('balancer.schedule: the documented @daily loads', () => {
    expect(parseInventory(`${minimal}balancer:\n  schedule: "@daily"\n`, 'x.yaml').balancer.schedule).toBe('@daily');
  });
});

describe('the schema', () => {
  it('forbids unknown properties in every object and describes every property', () => {
    const missing: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.properties !== undefined && o.additionalProperties !== false) missing.push(`${where}: additionalProperties`);
      for (const [name, child] of Object.entries((o.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (typeof child.description !== 'string' || child.description.length < 10) missing.push(`${where}.${name}: description`);
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
    };
    walk(inventorySchema, '#');
    expect(missing).toEqual([]);
  });
});

describe('smaller messages', () => {
  const base = `cluster: {domain: d, network: 10.0.0.0/24, gateway: 10.0.0.1}
storage: {hosts: {s: {address: 10.0.0.2, mac: 52:54:00:15:03:10}}}
hypervisors: {hosts: {a: {address: 10.0.0.3, mac: "02:00:00:00:00:03"}}}
`;
  const messageOf = (extra: string): string => {
    try {
      parseInventory(base + extra, 'm.yaml');
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };

  it('an unquoted MAC of digits stays a string (YAML 1.2)', () => {
    expect(parseInventory(base, 'm.yaml').hosts[0]?.mac).toBe('52:54:00:15:03:10');
  });

  it.each([
    ['balancer:\n  pinned: [x, y, x]\n', 'm.yaml:5:18: balancer.pinned[2]: "x" is listed twice'],
    ['foo: 1\n', 'm.yaml:4:1: foo: unknown property "foo"; expected one of cluster, network, ssh, storage, hypervisors, nfs, pool, firewall, balancer'],
    ['\tbad: 1\n', 'm.yaml:4:1: YAML syntax: Tabs are not allowed as indentation'],
    ['---\na: 1\n', 'm.yaml:4:1: YAML syntax: the file holds several YAML documents (separated by ---); an inventory is one document'],
    ['firewall:\n  nfs_ports: [111, 70000]\n', 'm.yaml:5:20: firewall.nfs_ports[1]: 70000 must be at most 65535'],
    ['balancer:\n  cpu_source: cgroup\n', 'm.yaml:5:15: balancer.cpu_source: "cgroup" is not valid here: `procstat` (/proc/stat), `cgroup:<absolute path of a cpuacct cgroup>` or `prometheus` (node_exporter and the libvirt exporter, queried at balancer.prometheus.url).'],
  ])('%j -> %s', (extra, message) => {
    expect(messageOf(extra)).toBe(message);
  });
});

describe('balancer strategies', () => {
  const base = `cluster:
  domain: example.org
  network: 10.1.0.0/24
  gateway: 10.1.0.254
storage:
  hosts:
    nas: {address: 10.1.0.5, mac: "aa:bb:cc:00:00:05", interface: eth0}
hypervisors:
  hosts:
    hv-a: {address: 10.1.0.10, mac: "aa:bb:cc:00:00:0a", interface: eth0}
    hv-b: {address: 10.1.0.11, mac: "aa:bb:cc:00:00:0b", interface: eth0}
`;
  const fails = (balancer: string): string => {
    try {
      parseInventory(`${base}balancer:\n${balancer}`, 's.yaml', { home: '/h' });
    } catch (error) {
      if (error instanceof InventoryError) return error.issues.map((i) => `${i.line}:${i.column} ${i.message}`).join('\n');
      throw error;
    }
    return 'accepted';
  };
  it('consolidate: its own defaults, every hypervisor in the pool, no command unless set', () => {
    const inv = parseInventory(`${base}balancer:\n  strategy: consolidate\n`, 's.yaml', { home: '/h' });
    expect(inv.balancer).toMatchObject({
      strategy: 'consolidate',
      consolidate: { hosts: ['hv-a', 'hv-b'], high: 90, low: 40, overloadWindow: 2, calmWindow: 2, cooldown: 600, cooldownMemory: 86400, history: 3600 },
    });
    expect(inv.balancer).not.toHaveProperty('home');
    expect(inv.balancer.strategy === 'consolidate' && inv.balancer.consolidate.onEmpty).toBeUndefined();
  });
  it.each([
    ['  strategy: pool\n', '13:13 balancer.strategy: "pool" is not one of home, consolidate'],
    ['  consolidate:\n    high: 85\n', "13:3 balancer.consolidate: settings of the 'consolidate' strategy, but balancer.strategy is 'home': set strategy: consolidate, or remove this section"],
    ['  strategy: consolidate\n  home:\n    hosts: [hv-a]\n', "14:3 balancer.home: settings of the 'home' strategy, but balancer.strategy is 'consolidate': set strategy: home, or remove this section"],
    ['  strategy: consolidate\n  consolidate:\n    low: 95\n', '15:10 balancer.consolidate.low: 95 must be below balancer.consolidate.high (90), or VMs would bounce between hosts'],
    ['  strategy: consolidate\n  consolidate:\n    on_empty: poweroff\n', '15:15 balancer.consolidate.on_empty: expected a list, got "poweroff"'],
    ['  home:\n    helpers: [hv-c]\n', '14:15 balancer.home.helpers[0]: "hv-c" is not a hypervisor (hypervisors: hv-a, hv-b)'],
  ])('%j is refused at its line', (balancer, message) => {
    expect(fails(balancer)).toBe(message);
  });
  // Schema and cross-field problems come out together (issue 10): the strategy's
  // rules run on every value of its section that passed the schema, none when
  // the strategy itself did not.
  it.each([
    [
      '  strategy: consolidate\n  home:\n    hosts: [hv-a]\n  consolidate:\n    high: lots\n    low: 95\n    hosts: [hv-c]\n',
      [
        "14:3 balancer.home: settings of the 'home' strategy, but balancer.strategy is 'consolidate': set strategy: home, or remove this section",
        '17:11 balancer.consolidate.high: expected a whole number, got "lots"',
        '19:13 balancer.consolidate.hosts[0]: "hv-c" is not a hypervisor (hypervisors: hv-a, hv-b)',
      ],
    ],
    [
      '  strategy: pool\n  home:\n    hosts: [hv-c]\n  drained: [hv-z]\n',
      ['13:13 balancer.strategy: "pool" is not one of home, consolidate', '16:13 balancer.drained[0]: "hv-z" is not a hypervisor (hypervisors: hv-a, hv-b)'],
    ],
    [
      '  home:\n    hosts: [hv-a, 3]\n    helpers: [hv-a]\n    low: 90\n',
      [
        '14:19 balancer.home.hosts[1]: expected a string, got 3',
        '15:15 balancer.home.helpers[0]: "hv-a" is also a home host; a host cannot be both',
        '16:10 balancer.home.low: 90 must be below balancer.home.high (80), or VMs would bounce between hosts',
      ],
    ],
  ])('%j: schema and strategy problems at once', (balancer, messages) => {
    expect(fails(balancer).split('\n')).toEqual(messages);
  });
});

describe('an inventory written before named strategies', () => {
  it('says where each balancer key went', () => {
    const text = `cluster: {domain: d, network: 10.0.0.0/24, gateway: 10.0.0.1}
storage: {hosts: {s: {address: 10.0.0.2, mac: "02:00:00:00:00:02"}}}
hypervisors: {hosts: {a: {address: 10.0.0.3, mac: "02:00:00:00:00:03"}}}
balancer:
  home: [a]
  high: 85
  drained: [z]
`;
    try {
      parseInventory(text, 'old.yaml', { home: '/h' });
      throw new Error('accepted');
    } catch (error) {
      if (!(error instanceof InventoryError)) throw error;
      expect(error.issues.map((i) => i.message)).toEqual([
        "balancer.home: expected a mapping (key: value lines), got a list; the home hosts are now balancer.home.hosts (balancer.home holds the home strategy's settings)",
        'balancer.high: unknown property "high"; it is now balancer.home.high (or balancer.consolidate.high)',
        // the cross-field rules still run on what passed the schema (issue 10)
        'balancer.drained[0]: "z" is not a hypervisor (hypervisors: a)',
      ]);
    }
  });
});

describe('network backends', () => {
  it("each host's backend: its own, else network.backend, else its family's default (debian ifupdown, ubuntu netplan, redhat networkmanager)", async () => {
    const inv = await loadInventory(fixture('backends.yaml'), { home: '/root' });
    expect(inv.hosts.map((h) => [h.name, h.osFamily, h.networkBackend])).toEqual([
      ['kvmstorage', 'debian', 'ifupdown'],
      ['kvmnode1', 'ubuntu', 'netplan'],
      ['kvmnode2', 'redhat', 'networkmanager'],
      ['kvmnode3', 'debian', 'networkd'],
    ]);
    const seed = await loadInventory(fixture('seed-redhat.yaml'), { home: '/root' });
    expect(new Set(seed.hosts.map((h) => h.networkBackend))).toEqual(new Set(['ifcfg']));
  });

  it('a top-level backend a host\'s family does not offer is reported at the top-level key, saying where a host may override it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hvmctl-inv-'));
    const file = path.join(dir, 'i.yaml');
    await writeFile(file, 'cluster:\n  domain: d\n  network: 10.0.0.0/24\n  gateway: 10.0.0.1\nnetwork:\n  backend: ifcfg\nstorage:\n  hosts:\n    s:\n      address: 10.0.0.2\n      mac: "52:54:00:00:00:02"\nhypervisors:\n  hosts:\n    h:\n      address: 10.0.0.3\n      mac: "52:54:00:00:00:03"\n      os_family: redhat\n');
    const error = await loadInventory(file, { home: '/root' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InventoryError);
    expect((error as InventoryError).issues.map((i) => [i.line, i.column, i.message])).toEqual([
      [6, 12, 'network.backend: "ifcfg" is not a network backend of debian (storage.hosts.s is debian); choose one of ifupdown, networkmanager, netplan, networkd, here or under storage.hosts.s.network.backend'],
    ]);
  });
});

