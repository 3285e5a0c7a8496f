import { describe, expect, it } from 'vitest';
import { IPV6_DISABLED, ip6tablesFilter, iptablesFilter, isManaged, parseIptablesSave, ruleComment } from '../../tasks/facts/iptables.ts';
import { captured, ok } from './captured.ts';

describe('parseIptablesSave (captured iptables-save v1.8.9 nf_tables)', () => {
  it('reads policies, rules and hvmctl comments', () => {
    const t = parseIptablesSave(captured('iptables-save-filter.txt'));
    expect(t.policies).toEqual({ INPUT: 'DROP', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' });
    expect(t.rules).toHaveLength(6);
    expect(t.rules.filter(isManaged).map((r) => r.comment)).toEqual([
      'hvmctl: loopback',
      'hvmctl: established',
      'hvmctl: ssh from cluster',
      'hvmctl: ssh from operator',
      'hvmctl: migration from kvmnode2',
    ]);
    expect(t.rules[4]).toEqual({
      chain: 'INPUT',
      spec: '-s 172.21.3.11/32 -p tcp -m tcp --dport 49152:49215 -m comment --comment "hvmctl: migration from kvmnode2" -j ACCEPT',
      comment: 'hvmctl: migration from kvmnode2',
    });
    expect(t.rules[5]?.comment).toBeUndefined();
  });

  it('reads an untouched table', () => {
    expect(parseIptablesSave(captured('iptables-save-filter-empty.txt'))).toEqual({
      policies: { INPUT: 'ACCEPT', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' },
      rules: [],
    });
  });

  it('treats empty output (legacy iptables, nothing loaded) as ACCEPT everywhere', () => {
    expect(parseIptablesSave('').policies).toEqual({ INPUT: 'ACCEPT', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' });
  });

  it('rejects garbage with the line number', () => {
    expect(() => parseIptablesSave('*filter\nhello\nCOMMIT\n')).toThrow(/line 2/);
    expect(() => parseIptablesSave('-A INPUT -j ACCEPT\n')).toThrow(/outside a table/);
  });

  it('reads bare and escaped comments', () => {
    expect(ruleComment('-m comment --comment bare -j ACCEPT')).toBe('bare');
    expect(ruleComment('-m comment --comment "say \\"hi\\"" -j ACCEPT')).toBe('say "hi"');
    expect(ruleComment('-j ACCEPT')).toBeUndefined();
  });

  it('fact: absent iptables-save is undefined, other failures throw', () => {
    expect(iptablesFilter.parse({ code: 3, stdout: '', stderr: '' })).toBeUndefined();
    expect(() => iptablesFilter.parse({ code: 1, stdout: '', stderr: 'Permission denied (you must be root)' })).toThrow(
      /Permission denied/,
    );
    expect(iptablesFilter.parse(ok(captured('iptables-save-filter.txt')))?.rules).toHaveLength(6);
  });
});

describe('the same parser on captured ip6tables-save v1.8.9 (nf_tables) output', () => {
  it('reads a fresh namespace: ACCEPT everywhere, no rules', () => {
    expect(parseIptablesSave(captured('ip6tables-save-filter-empty.txt'), 'ip6tables-save')).toEqual({
      policies: { INPUT: 'ACCEPT', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' },
      rules: [],
    });
  });

  it('reads the loaded rules.v6: ICMPv6 types as numbers, the operator as a /128', () => {
    const t = parseIptablesSave(captured('ip6tables-save-after-restore-kvmnode1.txt'), 'ip6tables-save');
    expect(t.policies.INPUT).toBe('DROP');
    expect(t.rules.every(isManaged)).toBe(true);
    expect(t.rules.find((r) => r.comment === 'hvmctl: icmpv6 neighbour solicitation')?.spec).toBe(
      '-p ipv6-icmp -m icmp6 --icmpv6-type 135 -m comment --comment "hvmctl: icmpv6 neighbour solicitation" -j ACCEPT',
    );
    expect(t.rules.at(-1)?.spec).toBe('-s 2001:db8::5/128 -p tcp -m tcp --dport 22 -m comment --comment "hvmctl: operator ssh" -j ACCEPT');
  });

  it('reads drift: a foreign rule has no comment', () => {
    const t = parseIptablesSave(captured('ip6tables-save-filter-drift.txt'), 'ip6tables-save');
    expect(t.policies.INPUT).toBe('ACCEPT');
    expect(t.rules.filter((r) => !isManaged(r)).map((r) => r.spec)).toEqual(['-p tcp -m tcp --dport 111 -j ACCEPT']);
  });

  it('fact: IPv6 off in the kernel, ip6tables-save absent, and errors naming ip6tables-save', () => {
    expect(ip6tablesFilter.command).toMatch(/^\[ -d \/proc\/sys\/net\/ipv6 \] \|\| /);
    expect(ip6tablesFilter.parse(ok('hvmctl: no /proc/sys/net/ipv6\n'))).toBe(IPV6_DISABLED);
    expect(ip6tablesFilter.parse({ code: 3, stdout: '', stderr: '' })).toBeUndefined();
    expect(() => ip6tablesFilter.parse({ code: 4, stdout: '', stderr: "ip6tables-save: can't initialize table" })).toThrow(/ip6tables-save -t filter.*can't initialize/);
    expect(ip6tablesFilter.parse(ok(captured('ip6tables-save-filter-drift.txt')))).toMatchObject({ policies: { INPUT: 'ACCEPT' } });
    expect(() => parseIptablesSave('*filter\nhello\nCOMMIT\n', 'ip6tables-save')).toThrow(/ip6tables-save line 2/);
  });
});
