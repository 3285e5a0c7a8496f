import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory, parseInventory } from '../../src/inventory/load.ts';
import { hostByName } from '../../src/inventory/types.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { balancerPaths, BRIDGE_GUARD, fstabLine, managedFiles } from '../../src/render/managed-files.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const lab = await loadInventory(path.join(root, 'inventory.yaml'), { home: '/root' });
const seed = await loadInventory(path.join(root, 'test/fixtures/inventories/seed-redhat.yaml'), { home: '/root' });
const host = (inv: Inventory, name: string): HostSpec => {
  const h = hostByName(inv, name);
  if (!h) throw new Error(name);
  return h;
};
const paths = (inv: Inventory, name: string) => managedFiles(inv, host(inv, name)).map((f) => f.path);

describe('managedFiles', () => {
  it('gives each role its files (debian, ganesha)', () => {
    expect(paths(lab, 'kvmstorage')).toEqual([
      '/etc/hosts',
      '/etc/network/interfaces',
      '/etc/iptables/rules.v4',
      '/etc/iptables/rules.v6',
      '/etc/ganesha/ganesha.conf',
    ]);
    expect(paths(lab, 'kvmnode1')).toEqual([
      '/etc/hosts',
      '/etc/network/interfaces',
      '/etc/iptables/rules.v4',
      '/etc/iptables/rules.v6',
      BRIDGE_GUARD.file,
      BRIDGE_GUARD.unitPath,
      BRIDGE_GUARD.nftablesDropIn,
      '/etc/libvirt/storage/default.xml',
      '/etc/libvirt/qemu-lockd.conf',
      '/etc/libvirt/hooks/qemu.d/hvmctl-disk-leases',
      balancerPaths.config,
      balancerPaths.cron,
      balancerPaths.serviceUnit,
      balancerPaths.timerUnit,
    ]);
    expect(paths(lab, 'kvmnode2')).not.toContain(balancerPaths.cron);
    expect(paths(lab, 'kvmnode2')).not.toContain(balancerPaths.timerUnit);
  });

  it('gives each role its files (redhat, kernel NFS)', () => {
    expect(paths(seed, 'kvmstorage')).toEqual([
      '/etc/hosts',
      '/etc/sysconfig/network-scripts/ifcfg-eth0',
      '/etc/sysconfig/network-scripts/ifcfg-br0',
      '/etc/sysconfig/iptables',
      '/etc/sysconfig/ip6tables',
      '/etc/exports',
    ]);
  });

  it('puts the address on the bridge, never on the enslaved interface', () => {
    const [eth0, br0] = managedFiles(seed, host(seed, 'kvmnode2')).filter((f) => f.tags.includes('network'));
    expect(eth0?.content).toMatch(/^BRIDGE=br0$/m);
    expect(eth0?.content).not.toMatch(/IPADDR|NETMASK|GATEWAY/);
    expect(br0?.content).toMatch(/^IPADDR=172\.21\.3\.11$/m);
    expect(br0?.content).toMatch(/^TYPE=Bridge$/m);
    const debian = managedFiles(lab, host(lab, 'kvmnode2')).find((f) => f.tags.includes('network'));
    expect(debian?.content).toContain('iface br0 inet static\n    address 172.21.3.11\n');
    expect(debian?.content).toContain('iface eth0 inet manual');
  });

  it('Debian: the whole /etc/network/interfaces, one stanza per interface (ifupdown merges stanzas of one name), the port with no address and not auto', () => {
    const debian = managedFiles(lab, host(lab, 'kvmnode2')).find((f) => f.tags.includes('network'));
    const lines = (debian?.content ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines.slice(0, 5)).toEqual(['source /etc/network/interfaces.d/*', 'auto lo', 'iface lo inet loopback', 'iface eth0 inet manual', 'auto br0']);
    expect(lines.filter((l) => l.startsWith('iface ')).map((l) => l.split(' ')[1])).toEqual(['lo', 'eth0', 'br0']);
    expect(lines).not.toContain('auto eth0');
    expect(lines).toContain('    bridge_ports eth0');
    expect(debian?.notify).toEqual(['network-restart']);
  });

  it("exports to each hypervisor's own address only (/32), never to the network the guests share", () => {
    const exports = managedFiles(seed, host(seed, 'kvmstorage')).find((f) => f.path === '/etc/exports');
    const lines = exports?.content.split('\n').filter((l) => l && !l.startsWith('#'));
    const opts = '(rw,sync,no_subtree_check,no_root_squash)';
    expect(lines).toEqual([`/var/lib/libvirt/images/kvmshared 172.21.3.10/32${opts} 172.21.3.11/32${opts} 172.21.3.12/32${opts}`]);
    expect(exports?.content).not.toContain('172.21.3.0/26(');
    expect(exports?.notify).toEqual(['exportfs']);
  });

  it("ganesha's CLIENT block admits the hypervisors' own addresses only (/32)", () => {
    const conf = managedFiles(lab, host(lab, 'kvmstorage')).find((f) => f.path === '/etc/ganesha/ganesha.conf')?.content ?? '';
    const clients = conf.split('\n').filter((l) => /^\s*Clients\s*=/.test(l)).map((l) => l.trim());
    expect(clients).toEqual(['Clients = 172.21.3.10/32, 172.21.3.11/32, 172.21.3.12/32;']);
    // Nobody but that block: the export's own Access_Type is None.
    expect(conf).toMatch(/Access_Type = None;\n\n    CLIENT \{\n        Clients = /);
  });

  it('starts every file with a stable "managed by hvmctl" line', () => {
    for (const inv of [lab, seed]) {
      for (const h of inv.hosts) {
        for (const f of managedFiles(inv, h)) {
          // JSON has no comments: the balancer config carries a managedBy field instead.
          if (f.path.endsWith('.json')) expect(JSON.parse(f.content).managedBy).toMatch(/^hvmctl /);
          // The balancer's units keep the line they were installed with before
          // they became templates (test/render/balancer-units.test.ts): a new one
          // would rewrite them, and restart the timer, on every balancer host.
          else if (f.path === balancerPaths.serviceUnit || f.path === balancerPaths.timerUnit) expect(f.content.split('\n')[0]).toBe('# Managed by hvmctl (tasks/ops/balancer.ts): local changes are overwritten by `hvmctl apply`.');
          // A script's first line is its interpreter; the marker is the next one.
          else expect(f.content.split('\n')[f.content.startsWith('#!') ? 1 : 0], `${h.name}:${f.path}`).toContain('Managed by hvmctl (templates/');
          expect(f.content.endsWith('\n')).toBe(true);
        }
      }
    }
  });

  it('tells the firewall file of the operator\'s family about the operator', () => {
    const [v4, v6] = managedFiles(lab, host(lab, 'kvmstorage'), { operatorAddress: '192.0.2.7' }).filter((f) => f.tags.includes('firewall'));
    expect(v4?.content).toContain('-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22');
    expect(v4?.validate).toBe('iptables-restore --test {}');
    expect(v6?.content).not.toContain('hvmctl: operator ssh');
    const [w4, w6] = managedFiles(lab, host(lab, 'kvmstorage'), { operatorAddress: '2001:DB8::7' }).filter((f) => f.tags.includes('firewall'));
    expect(w4?.content).not.toContain('hvmctl: operator ssh');
    expect(w6?.content).toContain('-A INPUT -s 2001:db8::7/128 -p tcp -m tcp --dport 22 -m comment --comment "hvmctl: operator ssh" -j ACCEPT');
    expect(w6).toMatchObject({ path: '/etc/iptables/rules.v6', mode: 0o600, validate: 'ip6tables-restore --test {}', notify: [] });
  });

  it('installs the balancer on every home host, with the inventory schedule', () => {
    const text = `cluster: {domain: d, network: 10.0.0.0/24, gateway: 10.0.0.1}
storage: {hosts: {s: {address: 10.0.0.2, mac: "02:00:00:00:00:02"}}}
hypervisors: {hosts: {a: {address: 10.0.0.3, mac: "02:00:00:00:00:03"}, b: {address: 10.0.0.4, mac: "02:00:00:00:00:04"}, c: {address: 10.0.0.5, mac: "02:00:00:00:00:05"}}}
balancer: {home: {hosts: [a, b], helpers: [c]}, schedule: "*/2 * * * *"}
`;
    const inv = parseInventory(text, 'two-homes.yaml', { home: '/root' });
    const cron = (name: string) => managedFiles(inv, host(inv, name)).find((f) => f.path === balancerPaths.cron);
    expect(cron('a')?.content).toContain(
      '*/2 * * * * root /usr/bin/env node /opt/hvmctl/balancer.mjs once --config /etc/hvmctl/balancer.json >> /var/log/hvmctl/cron.log 2>&1\n',
    );
    expect(cron('b')).toBeDefined();
    expect(cron('c')).toBeUndefined();
    const config = JSON.parse(managedFiles(inv, host(inv, 'a')).find((f) => f.path === balancerPaths.config)?.content ?? '{}');
    expect(config).toMatchObject({ strategy: 'home', home: { hosts: ['a', 'b'], helpers: ['c'] } });
    expect(config.hosts.map((h: { name: string; role: string }) => `${h.name}/${h.role}`)).toEqual(['s/storage', 'a/hypervisor', 'b/hypervisor', 'c/hypervisor']);
  });

  it('under consolidate, installs the balancer on the first host of the pool only', () => {
    const text = `cluster: {domain: d, network: 10.0.0.0/24, gateway: 10.0.0.1}
storage: {hosts: {s: {address: 10.0.0.2, mac: "02:00:00:00:00:02"}}}
hypervisors: {hosts: {a: {address: 10.0.0.3, mac: "02:00:00:00:00:03"}, b: {address: 10.0.0.4, mac: "02:00:00:00:00:04"}}}
balancer: {strategy: consolidate, consolidate: {hosts: [b, a]}}
`;
    const inv = parseInventory(text, 'pool.yaml', { home: '/root' });
    const cron = (name: string) => managedFiles(inv, host(inv, name)).find((f) => f.path === balancerPaths.cron);
    expect(cron('b')).toBeDefined();
    expect(cron('a')).toBeUndefined();
    const config = JSON.parse(managedFiles(inv, host(inv, 'b')).find((f) => f.path === balancerPaths.config)?.content ?? '{}');
    expect(config).toMatchObject({ strategy: 'consolidate', consolidate: { hosts: ['b', 'a'], high: 90, low: 40 } });
    expect(config).not.toHaveProperty('home');
  });
});

describe('fstabLine', () => {
  it('mounts the storage node export on the pool path', () => {
    expect(fstabLine(seed)).toBe(
      'kvmstorage.localdomain:/var/lib/libvirt/images/kvmshared /var/lib/libvirt/images/kvmshared nfs defaults,_netdev,hard,timeo=600,nosuid,nodev,noexec 0 0',
    );
    expect(fstabLine(lab).split(' ').slice(0, 3)).toEqual(['kvmstorage.localdomain:/srv/kvmshared', '/var/lib/libvirt/images/kvmshared', 'nfs']);
  });
});
