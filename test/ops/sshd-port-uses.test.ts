// The port sshd listens on (sshdPort), not the one apply connects through
// (sshPort, a port forward's), is what the firewall opens, what the
// hypervisors pin in known_hosts and what the balancer connects to.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../balancer/config.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { balancerConfig } from '../../src/render/balancer-config.ts';
import { wantedFirewallRules, wantedIpv6FirewallRules } from '../../src/render/managed-files.ts';
import { wantedRichRules } from '../../tasks/ops/firewall-firewalld.ts';
import { acceptsSsh } from '../../tasks/ops/firewall-live.ts';
import { knownHostsNames } from '../../tasks/ops/ssh-trust.ts';
import { inventory } from './ops-support.ts';

// Every host reached through a port forward on 2201, sshd on 2222.
const forwarded: Inventory = { ...inventory, hosts: inventory.hosts.map((h): HostSpec => ({ ...h, sshHost: 'gw.example.org', sshPort: 2201, sshdPort: 2222 })) };
const node = (name: string) => forwarded.hosts.find((h) => h.name === name) as HostSpec;

describe('the sshd port, not the port apply connects through', () => {
  it('the firewall opens sshd port 2222 to the operator and the peers, never the forwarded 2201', () => {
    const rules = wantedFirewallRules(forwarded, node('kvmnode1'), { operatorAddress: '10.0.0.5' });
    expect(acceptsSsh(rules, '10.0.0.5', 2222)).toBe(true);
    expect(acceptsSsh(rules, '172.21.3.11', 2222)).toBe(true);
    expect(rules.join('\n')).not.toContain('2201');
    expect(wantedIpv6FirewallRules(node('kvmnode1'), { operatorAddress: '2001:db8::5' }).at(-1)).toContain('--dport 2222');
    expect(wantedRichRules(forwarded, node('kvmnode1'), '10.0.0.5').map((r) => r.rule).filter((r) => r.includes('port='))[0]).toContain('port="2222"');
  });

  it('known_hosts pins a peer under [name]:2222; under the bare names on 22', () => {
    expect(knownHostsNames(node('kvmnode2'))).toEqual(['[kvmnode2.localdomain]:2222', '[kvmnode2]:2222', '[172.21.3.11]:2222']);
    const plain = inventory.hosts.find((h) => h.name === 'kvmnode2') as HostSpec;
    expect(knownHostsNames({ ...plain, sshPort: 2201 })).toEqual(['kvmnode2.localdomain', 'kvmnode2', '172.21.3.11']);
  });

  it("the balancer's file carries each host's sshd port, and its libvirt URI uses it", () => {
    const agent = parseAgentConfig(JSON.parse(JSON.stringify(balancerConfig(forwarded))), '/etc/hvmctl/balancer.json', 'kvmnode1');
    expect(agent.hosts.map((h) => h.sshPort)).toEqual([2222, 2222, 2222, 2222]);
    expect(agent.libvirtUri).toBe('qemu+ssh://root@{fqdn}:{port}/system');
  });
});
