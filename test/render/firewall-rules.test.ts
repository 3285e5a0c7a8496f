// The wanted rules must be exactly what iptables-save prints, or the firewall
// task would see drift on every run. The fixtures were captured on Debian 12
// (iptables v1.8.9, nf_tables) by loading the rendered rules file with
// iptables-restore in a scratch network namespace and running iptables-save.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.ts';
import { hostByName } from '../../src/inventory/types.ts';
import type { HostSpec } from '../../src/inventory/types.ts';
import { firewallPolicies, icmpv6Accepted, wantedFirewallRules, wantedIpv6FirewallRules } from '../../src/render/firewall-rules.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const inv = await loadInventory(path.join(root, 'inventory.yaml'), { home: '/root' });
const host = (name: string): HostSpec => {
  const h = hostByName(inv, name);
  if (!h) throw new Error(name);
  return h;
};
const captured = (name: string) => readFileSync(path.join(root, 'test/render/fixtures', name), 'utf8').split('\n');
const capturedV6 = (name: string) => readFileSync(path.join(root, 'test/fixtures/captured', name), 'utf8').split('\n');

describe('wantedFirewallRules', () => {
  it.each([
    ['kvmnode1', 'iptables-save-kvmnode1.txt'],
    ['kvmstorage', 'iptables-save-kvmstorage.txt'],
  ])('%s: identical to what iptables-save printed after loading them', (name, fixture) => {
    const lines = captured(fixture);
    expect(wantedFirewallRules(inv, host(name), { operatorAddress: '10.0.0.5' })).toEqual(lines.filter((l) => l.startsWith('-A ')));
    const policies = Object.entries(firewallPolicies).map(([chain, policy]) => `:${chain} ${policy} [0:0]`);
    expect(lines.filter((l) => l.startsWith(':'))).toEqual(policies);
  });

  it('opens the migration ports to each other hypervisor only, one rule per peer; libvirtd\'s TCP port only when listed', () => {
    const rules = wantedFirewallRules(inv, host('kvmnode2'));
    const sources = rules.filter((r) => /libvirt|migration/.test(r)).map((r) => /-s (\S+)/.exec(r)?.[1]);
    // hvmctl migrates over qemu+ssh: nothing listens on 16509 unless the operator runs libvirtd's TCP socket
    expect(inv.firewall.libvirtPorts).toEqual([]);
    expect(sources).toEqual(['172.21.3.10/32', '172.21.3.12/32']);
    expect(rules.some((r) => r.includes('172.21.3.11/32'))).toBe(false);
    expect(rules.some((r) => r.includes('nfs'))).toBe(false);
    const listed = wantedFirewallRules({ ...inv, firewall: { ...inv.firewall, libvirtPorts: [16509] } }, host('kvmnode2')).filter((r) => /libvirt/.test(r));
    expect(listed).toEqual([
      '-A INPUT -s 172.21.3.10/32 -p tcp -m tcp --dport 16509 -m comment --comment "hvmctl: libvirt 16509 from kvmnode1" -j ACCEPT',
      '-A INPUT -s 172.21.3.12/32 -p tcp -m tcp --dport 16509 -m comment --comment "hvmctl: libvirt 16509 from kvmnode3" -j ACCEPT',
    ]);
  });

  it("opens nothing but ssh, ping and nfs on the storage node: ssh and ping from the other hosts, nfs from the hypervisors, each as a /32", () => {
    const rules = wantedFirewallRules(inv, host('kvmstorage'));
    const sources = (what: RegExp) => rules.filter((r) => what.test(r)).map((r) => /-s (\S+)/.exec(r)?.[1]);
    expect(sources(/hvmctl: ssh /)).toEqual(['172.21.3.10/32', '172.21.3.11/32', '172.21.3.12/32']);
    expect(sources(/hvmctl: ping /)).toEqual(['172.21.3.10/32', '172.21.3.11/32', '172.21.3.12/32']);
    expect(new Set(sources(/hvmctl: nfs /))).toEqual(new Set(['172.21.3.10/32', '172.21.3.11/32', '172.21.3.12/32']));
    expect(sources(/hvmctl: nfs /)).toHaveLength(3 * 3); // three hypervisors, three ports, over TCP
    // no UDP at all: a guest can forge a hypervisor's source address on a datagram
    expect(rules.filter((r) => /-p udp/.test(r))).toEqual([]);
    expect(rules.some((r) => /16509|49152/.test(r))).toBe(false);
  });

  it.each(['kvmstorage', 'kvmnode1', 'kvmnode2'])('%s: no rule accepts the cluster network as a whole (the guests share it)', (name) => {
    const rules = wantedFirewallRules(inv, host(name), { operatorAddress: '10.0.0.5' });
    const sources = rules.map((r) => /-s (\S+)/.exec(r)?.[1]).filter((s) => s !== undefined);
    expect(sources.filter((s) => !s.endsWith('/32'))).toEqual([]);
    // A guest's address is in no rule; every other host is, for ssh.
    expect(rules.some((r) => r.includes('172.21.3.40'))).toBe(false);
    const sshFrom = rules.filter((r) => r.includes('hvmctl: ssh from')).map((r) => /-s (\S+)/.exec(r)?.[1]);
    expect(sshFrom).toEqual(inv.hosts.filter((h) => h.name !== name).map((h) => `${h.address}/32`));
  });

  it('keeps the operator in wherever it connects from, and adds nothing when it is another host', () => {
    const outside = wantedFirewallRules(inv, host('kvmnode3'), { operatorAddress: '192.168.7.20' });
    expect(outside).toContain('-A INPUT -s 192.168.7.20/32 -p tcp -m tcp --dport 22 -m comment --comment "hvmctl: operator ssh" -j ACCEPT');
    // Inside the cluster network but not a host (the lab's operator on the bridge): its own rule.
    const inside = wantedFirewallRules(inv, host('kvmnode3'), { operatorAddress: '172.21.3.1' });
    expect(inside).toContain('-A INPUT -s 172.21.3.1/32 -p tcp -m tcp --dport 22 -m comment --comment "hvmctl: operator ssh" -j ACCEPT');
    // Another host (hvmctl run from kvmnode1): the host's own rule covers it.
    const fromHost = wantedFirewallRules(inv, host('kvmnode3'), { operatorAddress: '172.21.3.10' });
    expect(fromHost).toEqual(wantedFirewallRules(inv, host('kvmnode3')));
    expect(fromHost.some((r) => r.includes('operator'))).toBe(false);
  });

  it('refuses an operator address that is neither IPv4 nor IPv6 (it would land in a rule)', () => {
    for (const bad of ['1.2.3.4 -j DROP', 'fe80::1%br0', '2001:db8::/64', '']) {
      expect(() => wantedFirewallRules(inv, host('kvmnode1'), { operatorAddress: bad })).toThrow(/not an IPv4 or IPv6 address/);
      expect(() => wantedIpv6FirewallRules(host('kvmnode1'), { operatorAddress: bad })).toThrow(/not an IPv4 or IPv6 address/);
    }
  });

  it('names every rule with an hvmctl comment', () => {
    for (const h of inv.hosts) {
      for (const r of wantedFirewallRules(inv, h, { operatorAddress: '10.9.9.9' })) {
        expect(r).toMatch(/ -m comment --comment "hvmctl: [^"]+" -j ACCEPT$/);
      }
    }
  });
});

describe('wantedIpv6FirewallRules', () => {
  it.each([
    ['kvmnode1', '2001:db8::5', 'ip6tables-save-after-restore-kvmnode1.txt'],
    ['kvmstorage', '10.0.0.5', 'ip6tables-save-after-restore-kvmstorage.txt'],
  ])('%s (operator %s): identical to what ip6tables-save printed after loading them', (name, operator, fixture) => {
    const lines = capturedV6(fixture);
    expect(wantedIpv6FirewallRules(host(name), { operatorAddress: operator })).toEqual(lines.filter((l) => l.startsWith('-A ')));
    const policies = Object.entries(firewallPolicies).map(([chain, policy]) => `:${chain} ${policy} [0:0]`);
    expect(lines.filter((l) => l.startsWith(':'))).toEqual(policies);
  });

  it('no cluster port over IPv6: only loopback, replies, ICMPv6 and the operator', () => {
    for (const h of inv.hosts) {
      const rules = wantedIpv6FirewallRules(h, { operatorAddress: '2001:db8::5' });
      expect(rules.filter((r) => r.includes('--dport'))).toEqual([
        '-A INPUT -s 2001:db8::5/128 -p tcp -m tcp --dport 22 -m comment --comment "hvmctl: operator ssh" -j ACCEPT',
      ]);
      expect(rules.some((r) => /172\.21\.3\.|ipv6-icmp.*--icmpv6-type 128 /.test(r))).toBe(false); // no IPv4 source, no echo request
      for (const r of rules) expect(r).toMatch(/ -m comment --comment "hvmctl: [^"]+" -j ACCEPT$/);
    }
  });

  it('ICMPv6 after RFC 4890 for a host: errors, packet too big, MLD query, RA, NS, NA, and nothing a router or ping needs', () => {
    expect(icmpv6Accepted.map((t) => t.type)).toEqual([1, 2, 3, 4, 130, 134, 135, 136]);
  });

  it('an IPv4 operator adds nothing to the IPv6 rules, an IPv6 operator nothing to the IPv4 rules', () => {
    expect(wantedIpv6FirewallRules(host('kvmnode3'), { operatorAddress: '192.168.7.20' })).toEqual(wantedIpv6FirewallRules(host('kvmnode3')));
    expect(wantedFirewallRules(inv, host('kvmnode3'), { operatorAddress: '2001:db8::20' })).toEqual(wantedFirewallRules(inv, host('kvmnode3')));
  });
});
