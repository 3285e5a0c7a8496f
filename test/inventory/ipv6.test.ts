import { describe, expect, it } from 'vitest';
import { canonicalIpv6, ipv6Contains, ipv6ToBigInt, isIpv6 } from '../../src/inventory/ipv6.ts';

describe('ipv6', () => {
  it.each([
    // Each right-hand side is what ip6tables-save printed for a rule with that source (ip6tables v1.8.9, glibc inet_ntop).
    ['2001:DB8:0:0::5', '2001:db8::5'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['fe80:0::1', 'fe80::1'],
  ])('%s is written %s', (input, canonical) => {
    expect(canonicalIpv6(input)).toBe(canonical);
  });

  it('tells IPv6 from anything else; a zone or a prefix is not an address', () => {
    expect(['::1', 'fe80::1', '2001:db8::5'].map(isIpv6)).toEqual([true, true, true]);
    expect(['fe80::1%br0', '2001:db8::/64', '10.0.0.1', 'somewhere', ''].map(isIpv6)).toEqual([false, false, false, false, false]);
    expect(() => canonicalIpv6('fe80::1%br0')).toThrow(RangeError);
  });

  it('prefixes contain what they should', () => {
    expect(ipv6ToBigInt('::1')).toBe(1n);
    expect(ipv6ToBigInt('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(ipv6Contains('2001:db8::5/128', '2001:db8::5')).toBe(true);
    expect(ipv6Contains('2001:db8::5/128', '2001:db8::6')).toBe(false);
    expect(ipv6Contains('fe80::/10', 'febf::1')).toBe(true);
    expect(ipv6Contains('fe80::/10', 'fec0::1')).toBe(false);
    expect(ipv6Contains('::/0', '2001:db8::1')).toBe(true);
    expect(ipv6Contains('2001:db8::5', '2001:db8::5')).toBe(true);
    expect(() => ipv6Contains('2001:db8::/129', '::1')).toThrow(RangeError);
  });
});
