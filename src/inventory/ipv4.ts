// IPv4 arithmetic for the inventory's cross-field checks and the templates
// (netmask, broadcast, "is this address inside the cluster network").
// Inputs are already schema-checked dotted quads / CIDRs.
//
// What an IPv4 address is, is said once: the schema's `definitions.ipv4`
// pattern. isIpv4() (flags, firewall rules, ipToInt()) tests that very
// pattern, so the inventory's check and the code's cannot drift apart.
import schema from './schema.json' with { type: 'json' };

export interface Ipv4Network {
  readonly address: number;
  readonly prefix: number;
  readonly netmask: number;
  readonly network: number;
  readonly broadcast: number;
}

export function ipToInt(ip: string): number {
  if (!isIpv4(ip)) throw new RangeError(`not an IPv4 address: ${ip}`);
  const parts = ip.split('.').map(Number);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

export function parseCidr(cidr: string): Ipv4Network {
  const [ip, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (ip === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new RangeError(`not a CIDR: ${cidr}`);
  }
  const address = ipToInt(ip);
  const netmask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (address & netmask) >>> 0;
  const broadcast = (network | (~netmask >>> 0)) >>> 0;
  return { address, prefix, netmask, network, broadcast };
}

export function contains(net: Ipv4Network, ip: string): boolean {
  return ((ipToInt(ip) & net.netmask) >>> 0) === net.network;
}

const DOTTED_QUAD = new RegExp(schema.definitions.ipv4.pattern);

/** Whether `s` is a dotted-quad IPv4 address (no leading zeros, no CIDR suffix). */
export function isIpv4(s: string): boolean {
  return DOTTED_QUAD.test(s);
}
