import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.ts';
import { firewalldZone, parseFirewalldZone } from '../../tasks/facts/firewalld.ts';
import { captured, ok } from './captured.ts';

describe('firewalld zone fact', () => {
  it('fresh install: default zone public, no hvmctl zone; every zone as it runs, unbound', () => {
    const s = firewalldZone.parse(ok(captured('firewalld-fact-fresh.txt')));
    expect(s).toMatchObject({ state: 'running', defaultZone: 'public', zones: ['block', 'dmz', 'drop', 'external', 'home', 'internal', 'public', 'trusted', 'work'], zone: undefined });
    if (s.state !== 'running') throw new Error('expected a running firewalld');
    expect(s.runtime.map((z) => [z.name, z.target, z.interfaces, z.sources])).toEqual([
      ['block', '%%REJECT%%', [], []],
      ['dmz', 'default', [], []],
      ['drop', 'DROP', [], []],
      ['external', 'default', [], []],
      ['home', 'default', [], []],
      ['internal', 'default', [], []],
      ['public', 'default', [], []],
      ['trusted', 'ACCEPT', [], []],
      ['work', 'default', [], []],
    ]);
  });

  it("the runtime zones' bindings, their names followed by '(active)', the rich rules (tab-indented) skipped", () => {
    const s = parseFirewalldZone(captured('firewalld-fact-bypass.txt'));
    if (s.state !== 'running') throw new Error('expected a running firewalld');
    const bound = s.runtime.filter((z) => z.interfaces.length + z.sources.length > 0).map((z) => [z.name, z.target, z.interfaces, z.sources]);
    expect(bound).toEqual([
      ['dmz', 'default', [], ['192.0.2.0/24']],
      ['drop', 'DROP', [], ['172.21.3.0/26']],
      ['public', 'default', ['br0'], []],
      ['trusted', 'ACCEPT', [], ['172.21.3.0/24']],
      ['work', 'default', [], ['172.21.3.11']],
    ]);
    expect(s.runtime.find((z) => z.name === 'hvmctl')).toEqual({ name: 'hvmctl', target: 'DROP', interfaces: [], sources: [] });
  });

  it('a new zone: target default, no sources, no rich rules (firewalld prints one empty line)', () => {
    const s = parseFirewalldZone(captured('firewalld-fact-new-zone.txt'));
    expect(s).toMatchObject({ state: 'running', defaultZone: 'public', zone: { target: 'default', sources: [], richRules: [] } });
  });

  it('an applied zone: target, default zone and every rich rule as firewalld lists them', () => {
    const s = parseFirewalldZone(captured('firewalld-fact-applied.txt'));
    if (s.state !== 'running' || !s.zone) throw new Error('expected a running firewalld with the zone');
    expect(s.defaultZone).toBe('hvmctl');
    expect(s.zone.target).toBe('DROP');
    expect(s.zone.richRules).toHaveLength(5);
    expect(s.zone.richRules[0]).toBe('rule family="ipv4" source address="172.21.3.0/26" icmp-type name="echo-request" accept');
    // Plain --list-rich-rules of a zone built the same way, except one rule given without /32:
    // firewalld lists rules as given (so apply always writes /32, to compare byte for byte).
    const plain = captured('firewalld-list-rich-rules.txt').trim().split('\n');
    expect(plain.slice(0, 4)).toEqual(s.zone.richRules.slice(0, 4));
    expect(plain[4]).toBe('rule family="ipv4" source address="172.21.3.11" port port="49152-49215" protocol="tcp" accept');
  });

  it.each([
    [3, { state: 'absent' }],
    [4, { state: 'stopped' }],
  ])('exit %i means %o', (code, want) => {
    expect(firewalldZone.parse({ code, stdout: '', stderr: '' })).toEqual(want);
  });

  it.each([
    ['empty output', ''],
    ['no zone list', 'default-zone: public\n'],
    ['garbage after the zone list', 'default-zone: public\nzones: public\nsurprise\n'],
    ['no rich rules header', 'default-zone: hvmctl\nzones: hvmctl public\ntarget: DROP\nsources: \n'],
    ['a line that is not a rule', 'default-zone: hvmctl\nzones: hvmctl public\ntarget: DROP\nsources: \nrich rules:\nport 22\nruntime zones:\n'],
    ['no runtime zones', 'default-zone: public\nzones: public\n'],
    ['a runtime setting before any zone', 'default-zone: public\nzones: public\nruntime zones:\n  target: DROP\n'],
    ['a runtime zone without its sources', 'default-zone: public\nzones: public\nruntime zones:\npublic\n  target: default\n  interfaces: br0\n'],
    ['a runtime line that is neither', 'default-zone: public\nzones: public\nruntime zones:\npublic (active)\n  target: default\n  interfaces:\n  sources:\nbr0 eth0\n'],
  ])('%s is a ParseError naming the line', (_what, text) => {
    expect(() => parseFirewalldZone(text)).toThrow(ParseError);
  });

  it('another exit status quotes what firewall-cmd said', () => {
    expect(() => firewalldZone.parse({ code: 5, stdout: '', stderr: 'Authorization failed.' })).toThrow(/exited 5: Authorization failed/);
  });

  it('the command is read-only and only touches the hvmctl zone', () => {
    expect(firewalldZone.command).not.toMatch(/--(add|remove|set|new|reload)/);
    expect(firewalldZone.command).toContain('firewall-cmd --permanent --zone=hvmctl --list-rich-rules');
  });
});
