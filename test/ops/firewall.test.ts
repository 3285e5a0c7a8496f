import { describe, expect, it } from 'vitest';
import { HvmError } from '../../src/errors.ts';
import { wantedFirewallRules, wantedIpv6FirewallRules } from '../../src/render/managed-files.ts';
import { runPlaybook } from '../../tasks/engine/runner.ts';
import { IPV6_DISABLED, type FilterTable, parseIptablesSave } from '../../tasks/facts/iptables.ts';
import { handlers } from '../../tasks/handlers.ts';
import { acceptsSsh, inputChainRestore } from '../../tasks/ops/firewall-live.ts';
import {
  chooseBackend,
  firewallFile,
  firewallLiveTask,
  firewallTasks,
  guestSegment,
  operatorAddress,
  operatorIpv4,
  planLiveFirewall,
} from '../../tasks/ops/firewall.ts';
import { captured } from '../facts/captured.ts';
import { FakeConnector, ok, type Recorded } from '../support/fake-connector.ts';
import { ctxFor, host, inventory, scripts } from './ops-support.ts';
import { fileFact } from '../../tasks/facts/file-state.ts';

const tools = { firewallCmd: false, firewalldRunning: false, nft: true, iptablesRestore: true };
// Captured: the rendered rules for kvmnode1 (operator 10.0.0.5) loaded with
// iptables-restore in a fresh namespace, then read back with iptables-save.
const applied = parseIptablesSave(captured('iptables-save-after-restore-kvmnode1.txt'));
// Captured: rendered rules.v6 loaded with ip6tables-restore and read back.
// IPv6 rules do not depend on the role: kvmstorage's (IPv4 operator, so no
// IPv6 operator rule) are what kvmnode1 wants with an IPv4 operator too;
// kvmnode1's were rendered for an operator on 2001:db8::5.
const applied6 = parseIptablesSave(captured('ip6tables-save-after-restore-kvmstorage.txt'), 'ip6tables-save');
const applied6op = parseIptablesSave(captured('ip6tables-save-after-restore-kvmnode1.txt'), 'ip6tables-save');
const empty6 = parseIptablesSave(captured('ip6tables-save-filter-empty.txt'), 'ip6tables-save');
const ctx = ctxFor('kvmnode1', { operatorAddress: '10.0.0.5' });
const guests = guestSegment(inventory);
const wanted = wantedFirewallRules(inventory, host('kvmnode1'), { operatorAddress: '10.0.0.5' });
const plan = (live: FilterTable | undefined, t = tools, live6: FilterTable | undefined | typeof IPV6_DISABLED = applied6) =>
  firewallLiveTask.plan(ctx, { tools: t, live, live6 });

function without(table: FilterTable, comment: string): FilterTable {
  return { ...table, rules: table.rules.filter((r) => r.comment !== comment) };
}

describe('firewall live rules', () => {
  it('no-op when iptables-save and ip6tables-save show exactly the rendered rules (round trips captured)', () => {
    const r = plan(applied);
    expect(r.changes).toEqual([]);
    expect(r.reason).toBe('live firewall matches: 11 hvmctl rules, INPUT policy DROP; IPv6 10 hvmctl rules, INPUT policy DROP');
  });

  it('a deleted rule is named, and the whole INPUT chain is restored atomically', () => {
    const r = plan(without(applied, 'hvmctl: migration from kvmnode2'));
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe('load firewall rules: missing rule: hvmctl: migration from kvmnode2');
    expect(r.changes[0]?.commands).toEqual([{ script: 'iptables-restore --noflush', input: inputChainRestore(wanted) }]);
    expect(inputChainRestore(wanted)).toBe(
      `*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-F INPUT\n${wanted.join('\n')}\nCOMMIT\n`,
    );
    // Same -A lines as the persisted file.
    expect(firewallFile(ctx).content.split('\n').filter((l) => l.startsWith('-A '))).toEqual(wanted);
  });

  it('an extra hvmctl rule, a wrong policy and foreign rules are named', () => {
    const live = parseIptablesSave(captured('iptables-save-filter.txt'));
    const r = plan({ ...applied, policies: { ...applied.policies, INPUT: 'ACCEPT' }, rules: [...applied.rules, ...live.rules.slice(4)] });
    const summary = r.changes[0]?.summary ?? '';
    expect(summary).toContain('extra rule: hvmctl: migration from kvmnode2');
    expect(summary).not.toContain('missing rule');
    expect(summary).toContain('INPUT policy ACCEPT -> DROP');
    // A foreign rule from a range outside the cluster network is another administrator's: kept, after apply's.
    expect(summary).toContain('kept 1 rule(s) apply does not own: -A INPUT -s 192.168.9.0/24 -p tcp -m tcp --dport 8080 -j ACCEPT');
    expect(r.changes[0]?.commands[0]?.input).toBe(inputChainRestore([...wanted, '-A INPUT -s 192.168.9.0/24 -p tcp -m tcp --dport 8080 -j ACCEPT']));
  });

  it('a blank host (ACCEPT everything, no rules, in both families) gets every rule of both', () => {
    const r = plan(parseIptablesSave(captured('iptables-save-filter-empty.txt')), tools, empty6);
    expect(r.changes.map((c) => c.summary.match(/missing rule/g)?.length)).toEqual([11, 10]);
    expect(r.changes[1]?.summary).toMatch(/^load IPv6 firewall rules: missing rule: hvmctl: loopback; .*INPUT policy ACCEPT -> DROP$/);
    expect(scripts(r)).toEqual(['iptables-restore --noflush', 'ip6tables-restore --noflush']);
    expect(r.changes[1]?.commands[0]?.input).toBe(inputChainRestore(wantedIpv6FirewallRules(host('kvmnode1'))));
  });

  it('IPv6 drift as captured (a rule deleted, a foreign rpcbind rule, policy ACCEPT) is named and fixed; IPv4 untouched', () => {
    const drift = parseIptablesSave(captured('ip6tables-save-filter-drift.txt'), 'ip6tables-save');
    const r = plan(applied, tools, drift);
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]?.summary).toBe(
      'load IPv6 firewall rules: missing rule: hvmctl: icmpv6 multicast listener query; INPUT policy ACCEPT -> DROP; removed rule apply does not own: -A INPUT -p tcp -m tcp --dport 111 -j ACCEPT (accepts from every address, the guests on the bridge included)',
    );
    expect(r.changes[0]?.diff).toBe(
      'IPv6 missing rule: hvmctl: icmpv6 multicast listener query\nIPv6 INPUT policy ACCEPT -> DROP\nIPv6 removed rule apply does not own: -A INPUT -p tcp -m tcp --dport 111 -j ACCEPT (accepts from every address, the guests on the bridge included)\n',
    );
    expect(scripts(r)).toEqual(['ip6tables-restore --noflush']);
  });

  it('rules in another order are a change', () => {
    const rules = [...applied.rules];
    const [a, b] = [rules[3], rules[4]];
    if (!a || !b) throw new Error('fixture too short');
    rules[3] = b;
    rules[4] = a;
    expect(plan({ ...applied, rules }).changes[0]?.summary).toBe('load firewall rules: rules out of order');
  });

  it('never locks the operator out: SSH from the operator address is in the wanted rules, also from outside the cluster', () => {
    expect(acceptsSsh(wanted, '10.0.0.5', 22)).toBe(true);
    expect(acceptsSsh(wanted, '10.0.0.6', 22)).toBe(false);
    expect(acceptsSsh(wanted, '172.21.3.40', 22)).toBe(false); // a guest's address, inside the cluster network
    expect(acceptsSsh(wanted, '172.21.3.11', 22)).toBe(true); // kvmnode2
    // An operator inside the cluster network (not a host) gets its own rule: the network is no longer open as a whole.
    const inside = wantedFirewallRules(inventory, host('kvmnode1'), { operatorAddress: '172.21.3.40' });
    expect(acceptsSsh(inside, '172.21.3.40', 22)).toBe(true);
    expect(acceptsSsh(inside, '172.21.3.41', 22)).toBe(false);
    expect(() => planLiveFirewall(host('kvmnode1'), 'auto', { ipv4: inside, ipv6: wantedIpv6FirewallRules(host('kvmnode1')) }, '172.21.3.40', { tools, live: applied, live6: applied6 }, guests)).not.toThrow();
    expect(acceptsSsh(wanted, '2001:db8::5', 22)).toBe(false); // IPv4 rules never accept an IPv6 address
    expect(firewallFile(ctx).content).toContain('-A INPUT -s 10.0.0.5/32 -p tcp -m tcp --dport 22');
    // A rule set without it is refused, whatever the live state.
    const broken = wanted.filter((l) => !l.includes('operator'));
    const wanted6 = wantedIpv6FirewallRules(host('kvmnode1'));
    expect(() => planLiveFirewall(host('kvmnode1'), 'auto', { ipv4: broken, ipv6: wanted6 }, '10.0.0.5', { tools, live: applied, live6: applied6 }, guests)).toThrow(
      /wanted IPv4 firewall rules would not accept SSH from the operator's address 10.0.0.5/,
    );
  });

  it('an operator on IPv6: SSH from its /128 in the IPv6 rules (captured round trip), none in the IPv4 rules', () => {
    const v6 = ctxFor('kvmnode1', { operatorAddress: '2001:db8::5' });
    const live4 = without(applied, 'hvmctl: operator ssh');
    expect(firewallLiveTask.plan(v6, { tools, live: live4, live6: applied6op }).changes).toEqual([]);
    expect(firewallFile(v6, 'ipv6').content).toContain('-A INPUT -s 2001:db8::5/128 -p tcp -m tcp --dport 22 -m comment --comment "hvmctl: operator ssh" -j ACCEPT');
    expect(firewallFile(v6).content).not.toContain('operator');
    // Before the rule exists (a host that only had the IPv6 defaults), apply adds it.
    const r = firewallLiveTask.plan(v6, { tools, live: live4, live6: applied6 });
    expect(r.changes.map((c) => c.summary)).toEqual(['load IPv6 firewall rules: missing rule: hvmctl: operator ssh']);
    // And a rule set that forgot it is refused.
    const wanted6 = wantedIpv6FirewallRules(host('kvmnode1'));
    expect(() => planLiveFirewall(host('kvmnode1'), 'auto', { ipv4: wanted, ipv6: wanted6 }, '2001:db8::5', { tools, live: live4, live6: applied6 }, guests)).toThrow(
      /wanted IPv6 firewall rules would not accept SSH from the operator's address 2001:db8::5/,
    );
  });

  it("the operator's address: IPv4, IPv4-mapped unwrapped; IPv6 canonical, without the link-local zone; anything else ignored", () => {
    expect(operatorAddress('10.0.0.5')).toBe('10.0.0.5');
    expect(operatorAddress('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(operatorAddress('2001:DB8:0:0::5')).toBe('2001:db8::5');
    expect(operatorAddress('fe80::1%br0')).toBe('fe80::1');
    expect(operatorAddress('somewhere')).toBeUndefined();
    expect(operatorAddress(undefined)).toBeUndefined();
    expect(operatorIpv4('fe80::1')).toBeUndefined();
    expect(operatorIpv4('::ffff:10.0.0.5')).toBe('10.0.0.5');
    const ll = firewallFile(ctxFor('kvmnode1', { operatorAddress: 'fe80::1%br0' }), 'ipv6').content;
    expect(ll).toContain('-A INPUT -s fe80::1/128 -p tcp -m tcp --dport 22');
  });

  it('IPv6 disabled in the kernel: the IPv4 rules only, and the reason says so', () => {
    const r = plan(applied, tools, IPV6_DISABLED);
    expect(r).toEqual({
      changes: [],
      reason: 'live firewall matches: 11 hvmctl rules, INPUT policy DROP; IPv6 disabled in the kernel (no /proc/sys/net/ipv6): no IPv6 table to filter',
    });
  });

  it('backends: auto picks firewalld when it runs; firewalld and nftables fail clearly instead of doing nothing', () => {
    expect(chooseBackend('auto', tools)).toBe('iptables');
    expect(chooseBackend('auto', { ...tools, firewallCmd: true, firewalldRunning: true })).toBe('firewalld');
    expect(chooseBackend('auto', { ...tools, iptablesRestore: false })).toBe('nftables');
    expect(chooseBackend('auto', { firewallCmd: false, firewalldRunning: false, nft: false, iptablesRestore: false })).toBeUndefined();
    let error: unknown;
    try {
      // firewalld is planned by tasks/ops/firewall-firewalld.ts (test/ops/firewall-firewalld.test.ts).
      firewallLiveTask.plan(ctx, { tools: { ...tools, firewallCmd: true, firewalldRunning: true }, live: applied, live6: applied6, firewalld: { state: 'stopped' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HvmError);
    expect((error as HvmError).message).toBe('kvmnode1: firewall backend firewalld, but firewalld is not running');
    expect((error as HvmError).hint).toMatch(/firewall.backend: auto/);
    expect(() => plan(undefined)).toThrow(/iptables-save not found/);
    // `auto` on a host with only nft: a fact about the host (the inventory cannot say nftables any more), so a run-time error
    expect(() => firewallLiveTask.plan(ctx, { tools: { ...tools, nft: true, iptablesRestore: false }, live: applied, live6: applied6 })).toThrow(
      'kvmnode1: firewall backend nftables is not supported yet (chosen by backend: auto)',
    );
    expect(() => firewallLiveTask.plan(ctx, { tools, live: applied, live6: undefined })).toThrow(/ip6tables-save not found/);
  });

  it('storage node: NFS ports, no migration ports; the same IPv6 rules as a hypervisor', () => {
    const s = ctxFor('kvmstorage', { operatorAddress: '172.21.3.10' });
    const live = parseIptablesSave(captured('iptables-save-after-restore-kvmstorage.txt'));
    // Captured with operator 10.0.0.5; from kvmnode1's address (a host: its own rule covers it) that rule is not wanted.
    const r = firewallLiveTask.plan(s, { tools, live, live6: applied6 });
    expect(r.changes.map((c) => c.summary)).toEqual(['load firewall rules: extra rule: hvmctl: operator ssh']);
    expect(firewallFile(s).content).toContain('--dport 2049');
    expect(firewallFile(s).content).not.toContain('migration');
    expect(firewallFile(s, 'ipv6').content).not.toMatch(/--dport (2049|111|16509)/);
  });

  it('through the runner: check mode executes nothing; apply writes both files and loads both tables, once (no reload of the files, which would flush other rules)', async () => {
    for (const check of [true, false]) {
      const log: Recorded[] = [];
      const conn = new FakeConnector(
        'kvmnode1',
        {
          facts: {
            'firewall-tools': ok('firewall-cmd=no\nnft=yes\niptables-restore=yes\nfirewalld=stopped\n'),
            'iptables-save:filter': ok(captured('iptables-save-filter-empty.txt')),
            'ip6tables-save:filter': ok(captured('ip6tables-save-filter-empty.txt')),
            'firewalld:hvmctl': { code: 3, stdout: '', stderr: '' }, // no firewall-cmd
            [fileFact(firewallFile(ctx).path).key]: ok('absent\n'),
            [fileFact(firewallFile(ctx, 'ipv6').path).key]: ok('absent\n'),
            'init-process': ok('systemd\n'),
            'dpkg:iptables-persistent,netfilter-persistent': ok('iptables-persistent ii \nnetfilter-persistent ii \n'),
            'unit:netfilter-persistent': ok('enabled=enabled\nactive=active\n'),
          },
          answers: [[/^printf .*SSH_CLIENT/, ok('10.0.0.5 51234 22\n')]],
        },
        log,
      );
      const report = await runPlaybook({
        inventory,
        tasks: [...firewallTasks],
        handlers,
        hosts: [host('kvmnode1')],
        connect: async () => conn,
        check,
      });
      const executed = log.filter((l) => !l.factKeys && !l.command.includes('SSH_CLIENT'));
      expect(report.results.map((r) => [r.task, r.status])).toEqual([
        ['firewall rules file', 'changed'],
        ['firewall live rules', 'changed'],
        ['firewall at boot', 'ok'],
      ]);
      if (check) expect(executed).toEqual([]);
      else {
        expect(executed.map((l) => l.command.split('\n')[0])).toEqual([
          'set -e',
          'set -e',
          'iptables-restore --noflush',
          'ip6tables-restore --noflush',
        ]);
        expect(executed[0]?.command).toContain('iptables-restore --test "$t"');
        expect(executed[0]?.input).toBe(firewallFile(ctx).content);
        expect(executed[1]?.command).toContain('ip6tables-restore --test "$t"');
        expect(executed[1]?.input).toBe(firewallFile(ctx, 'ipv6').content);
        expect(executed[2]?.input).toContain('-s 10.0.0.5/32 -p tcp -m tcp --dport 22');
      }
    }
  });
});
