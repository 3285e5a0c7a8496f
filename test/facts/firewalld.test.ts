import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.ts';
import { firewalldZone, parseFirewalldZone } from '../../tasks/facts/firewalld.ts';
import { captured, ok } from './captured.ts';

describe('firewalld zone fact', () => {
  it('fresh install: default zone public, no hvmctl zone', () => {
    expect(firewalldZone.parse(ok(captured('firewalld-fact-fresh.txt')))).toEqual({
      state: 'running',
      defaultZone: 'public',
      zones: ['block', 'dmz', 'drop', 'external', 'home', 'internal', 'public', 'trusted', 'work'],
      zone: undefined,
    });
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
    ['a line that is not a rule', 'default-zone: hvmctl\nzones: hvmctl public\ntarget: DROP\nsources: \nrich rules:\nport 22\n'],
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
