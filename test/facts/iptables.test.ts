import { describe, expect, it } from 'vitest';
import { iptablesFilter, isManaged, parseIptablesSave, ruleComment } from '../../tasks/facts/iptables.ts';
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
