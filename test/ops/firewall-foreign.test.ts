// Other administrators' rules and libvirt's jumps in INPUT, on iptables-save
// output captured with a real libvirt NAT network started by a throw-away
// libvirtd (test/fixtures/captured/capture-iptables-foreign.sh).
import { describe, expect, it } from 'vitest';
import { wantedFirewallRules, wantedIpv6FirewallRules } from '../../src/render/managed-files.ts';
import { type FilterTable, type IptablesRule, parseIptablesSave } from '../../tasks/facts/iptables.ts';
import { opensToGuests } from '../../tasks/ops/firewall-foreign.ts';
import { inputChainRestore } from '../../tasks/ops/firewall-live.ts';
import { firewallLiveTask, guestSegment } from '../../tasks/ops/firewall.ts';
import { captured } from '../facts/captured.ts';
import { ctxFor, host, inventory } from './ops-support.ts';

const tools = { firewallCmd: false, firewalldRunning: false, nft: true, iptablesRestore: true };
const ctx = ctxFor('kvmnode1', { operatorAddress: '10.0.0.5' });
const wanted = wantedFirewallRules(inventory, host('kvmnode1'), { operatorAddress: '10.0.0.5' });
const wanted6 = wantedIpv6FirewallRules(host('kvmnode1'));
const shared = parseIptablesSave(captured('iptables-save-foreign-libvirt.txt'));
const shared6 = parseIptablesSave(captured('ip6tables-save-foreign-libvirt.txt'), 'ip6tables-save');
const blanket = parseIptablesSave(captured('iptables-save-foreign-libvirt-blanket.txt'));
const plan = (live: FilterTable, live6: FilterTable = shared6) => firewallLiveTask.plan(ctx, { tools, live, live6 });

const libvirtJump = '-A INPUT -j LIBVIRT_INP';
const otherOperator = '-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -j ACCEPT';
const jumpHost = '-A INPUT -s 198.51.100.10/32 -p tcp -m tcp --dport 22 -m comment --comment "site: jump host" -j ACCEPT';

const inputOf = (t: FilterTable) => t.rules.filter((r) => r.chain === 'INPUT');
const withInput = (t: FilterTable, input: IptablesRule[]): FilterTable => ({ ...t, rules: [...input, ...t.rules.filter((r) => r.chain !== 'INPUT')] });

describe("rules apply does not own (captured: libvirt's network, another operator, a jump host)", () => {
  it('nothing to do when apply\'s rules are there: every foreign rule is kept, and plan names each', () => {
    const r = plan(shared);
    expect(r.changes).toEqual([]);
    expect(r.reason).toBe(
      `live firewall matches: 11 hvmctl rules, INPUT policy DROP; kept 3 rule(s) apply does not own: ${libvirtJump} | ${otherOperator} | ${jumpHost}; ` +
        `IPv6 10 hvmctl rules, INPUT policy DROP; kept 2 rule(s) apply does not own: ${libvirtJump} | -A INPUT -s 2001:db8:7::7/128 -p tcp -m tcp --dport 22 -j ACCEPT`,
    );
  });

  it("a drifted hvmctl rule: INPUT is rewritten as libvirt's jump, apply's rules, then the others (FORWARD, OUTPUT and libvirt's chains are not in the input)", () => {
    const live = { ...shared, rules: shared.rules.filter((r) => r.comment !== 'hvmctl: migration from kvmnode2') };
    const r = plan(live);
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe(
      `load firewall rules: missing rule: hvmctl: migration from kvmnode2; kept 3 rule(s) apply does not own: ${libvirtJump} | ${otherOperator} | ${jumpHost}`,
    );
    const input = r.changes[0]?.commands[0]?.input ?? '';
    expect(input).toBe(inputChainRestore([libvirtJump, ...wanted, otherOperator, jumpHost]));
    expect(input).not.toMatch(/FORWARD -j|OUTPUT -j|LIBVIRT_INP -i/);
  });

  it('a rule that accepts every packet is removed and named (it would switch the default drop off); the others stay', () => {
    const r = plan(blanket);
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe(
      'load firewall rules: removed rule apply does not own: -A INPUT -j ACCEPT (accepts from every address, the guests on the bridge included); ' +
        `kept 3 rule(s) apply does not own: ${libvirtJump} | ${otherOperator} | ${jumpHost}`,
    );
    expect(r.changes[0]?.commands[0]?.input).toBe(inputChainRestore([libvirtJump, ...wanted, otherOperator, jumpHost]));
  });

  it("a foreign rule ahead of apply's rules is moved after them (nothing may come between a packet and the operator's rule)", () => {
    const input = inputOf(shared);
    const other = input.find((r) => r.spec.startsWith('-s 192.0.2.7/32'));
    if (!other) throw new Error('fixture lacks the other operator');
    const r = plan(withInput(shared, [other, ...input.filter((x) => x !== other)]));
    expect(r.changes[0]?.summary).toMatch(new RegExp(`^load firewall rules: rule apply does not own ahead of apply's rules, moved after them: ${otherOperator.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')};`));
    expect(r.changes[0]?.commands[0]?.input).toBe(inputChainRestore([libvirtJump, ...wanted, otherOperator, jumpHost]));
  });

  it("libvirt's jump after apply's rules is put back ahead, where libvirt itself inserts it", () => {
    const input = inputOf(shared);
    const jump = input[0];
    if (!jump || jump.spec !== '-j LIBVIRT_INP') throw new Error('fixture: libvirt inserts its jump first');
    const r = plan(withInput(shared, [...input.slice(1), jump]));
    expect(r.changes[0]?.summary).toMatch(/^load firewall rules: libvirt's jumps moved ahead of apply's rules;/);
    expect(r.changes[0]?.commands[0]?.input).toBe(inputChainRestore([libvirtJump, ...wanted, otherOperator, jumpHost]));
  });

  it('IPv6: the same, with the IPv6 rules', () => {
    const live6 = { ...shared6, rules: shared6.rules.filter((r) => r.comment !== 'hvmctl: icmpv6 packet too big') };
    const r = plan(shared, live6);
    expect(r.changes.map((c) => c.commands[0]?.script)).toEqual(['ip6tables-restore --noflush']);
    expect(r.changes[0]?.commands[0]?.input).toBe(inputChainRestore([libvirtJump, ...wanted6, '-A INPUT -s 2001:db8:7::7/128 -p tcp -m tcp --dport 22 -j ACCEPT']));
  });

  const rule = (spec: string): IptablesRule => ({ chain: 'INPUT', spec });
  const guests = guestSegment(inventory);
  it.each([
    ['-j ACCEPT', 'accepts from every address, the guests on the bridge included'],
    ['-p tcp -m tcp --dport 111 -j ACCEPT', 'accepts from every address, the guests on the bridge included'],
    ['-i br0 -p tcp -m tcp --dport 80 -j ACCEPT', 'accepts from every address, the guests on the bridge included'],
    ['! -s 10.0.0.1/32 -j ACCEPT', 'accepts from every address, the guests on the bridge included'],
    ['-s 172.21.3.0/26 -p tcp -m tcp --dport 22 -j ACCEPT', "accepts from 172.21.3.0/26, which holds guests' addresses of the cluster network 172.21.3.0/26"],
    ['-s 172.16.0.0/12 -j ACCEPT', "accepts from 172.16.0.0/12, which holds guests' addresses of the cluster network 172.21.3.0/26"],
    ['-s 172.21.3.32/28 -j ACCEPT', "accepts from 172.21.3.32/28, which holds guests' addresses of the cluster network 172.21.3.0/26"],
    ['-s 172.21.3.40/32 -p tcp -m tcp --dport 22 -j ACCEPT', undefined],
    ['-s 10.0.0.0/8 -j ACCEPT', undefined],
    ['-i eth1 -p tcp -m tcp --dport 80 -j ACCEPT', undefined],
    ['-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', undefined],
    ['-p tcp -m tcp --dport 80 -j DROP', undefined],
    ['-j SITE_INPUT', undefined],
  ])('IPv4 foreign rule %s: %s', (spec, why) => {
    expect(opensToGuests('ipv4', rule(spec), guests)).toBe(why);
  });

  it('IPv6: a foreign ACCEPT from any address is removed; one from a named source is kept', () => {
    expect(opensToGuests('ipv6', rule('-p tcp -m tcp --dport 111 -j ACCEPT'), guests)).toMatch(/every address/);
    expect(opensToGuests('ipv6', rule('-s 2001:db8:7::7/128 -j ACCEPT'), guests)).toBeUndefined();
  });
});
