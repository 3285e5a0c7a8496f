import { describe, expect, it } from 'vitest';
import { contains, intToIp, ipToInt, isIpv4, parseCidr } from '../../src/inventory/ipv4.ts';
import schema from '../../src/inventory/schema.json' with { type: 'json' };

describe('ipv4', () => {
  it.each([
    ['172.21.3.0/26', '255.255.255.192', '172.21.3.0', '172.21.3.63'],
    ['10.1.0.0/24', '255.255.255.0', '10.1.0.0', '10.1.0.255'],
    ['192.168.0.0/16', '255.255.0.0', '192.168.0.0', '192.168.255.255'],
    ['172.21.3.5/26', '255.255.255.192', '172.21.3.0', '172.21.3.63'],
    ['0.0.0.0/0', '0.0.0.0', '0.0.0.0', '255.255.255.255'],
    ['10.0.0.7/32', '255.255.255.255', '10.0.0.7', '10.0.0.7'],
  ])('%s: netmask %s, network %s, broadcast %s', (cidr, netmask, network, broadcast) => {
    const net = parseCidr(cidr);
    expect([intToIp(net.netmask), intToIp(net.network), intToIp(net.broadcast)]).toEqual([netmask, network, broadcast]);
  });

  it('tells inside from outside', () => {
    const net = parseCidr('172.21.3.0/26');
    expect(['172.21.3.0', '172.21.3.10', '172.21.3.63'].map((ip) => contains(net, ip))).toEqual([true, true, true]);
    expect(['172.21.3.64', '172.21.2.255', '10.0.0.1'].map((ip) => contains(net, ip))).toEqual([false, false, false]);
  });

  it('round-trips and refuses garbage', () => {
    expect(intToIp(ipToInt('255.254.3.1'))).toBe('255.254.3.1');
    expect(() => ipToInt('1.2.3')).toThrow(RangeError);
    expect(() => ipToInt('1.2.3.256')).toThrow(RangeError);
    expect(() => parseCidr('1.2.3.4/33')).toThrow(RangeError);
    expect(() => ipToInt('1.2..3')).toThrow(RangeError);
    expect(() => ipToInt('01.2.3.4')).toThrow(RangeError);
  });

  it.each([
    ['172.21.3.10', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['256.1.1.1', false],
    ['01.2.3.4', false],
    ['1.2.3', false],
    ['1.2.3.4/32', false],
    [' 1.2.3.4', false],
    ['2001:db8::1', false],
  ])('isIpv4(%j) is %s', (s, ok) => {
    expect(isIpv4(s)).toBe(ok);
  });

  it("one rule: the schema's cidr pattern is its ipv4 pattern and a prefix", () => {
    const ipv4 = schema.definitions.ipv4.pattern;
    expect(ipv4.endsWith('$')).toBe(true);
    expect(schema.definitions.cidr.pattern).toBe(`${ipv4.slice(0, -1)}/(3[0-2]|[12]?[0-9])$`);
  });
});
