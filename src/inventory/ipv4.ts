// IPv4 arithmetic for the inventory's cross-field checks and the templates
// (netmask, broadcast, "is this address inside the cluster network").
// Inputs are already schema-checked dotted quads / CIDRs.

export interface Ipv4Network {
  readonly address: number;
  readonly prefix: number;
  readonly netmask: number;
  readonly network: number;
  readonly broadcast: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RangeError(`not an IPv4 address: ${ip}`);
  }
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

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `s` is a dotted-quad IPv4 address (no leading zeros, no CIDR suffix). */
export function isIpv4(s: string): boolean {
  return DOTTED_QUAD.test(s);
}
