// IPv6 addresses, for the one place hvmctl meets them: the operator may
// connect over IPv6, and that address lands in an ip6tables rule. It is
// validated here and written the way ip6tables-save prints it (RFC 5952:
// lower case, the first longest run of two or more zero groups compressed,
// as glibc's inet_ntop does), so the rendered rule and the live one compare
// as text. The cluster network itself is IPv4 only. Pure.
import { isIP } from 'node:net';

/** Whether `s` is an IPv6 address without a zone (`%eth0`) or prefix. */
export function isIpv6(s: string): boolean {
  return !s.includes('%') && isIP(s) === 6;
}

/** `s` in canonical text form; RangeError for anything that is not an IPv6 address. */
export function canonicalIpv6(s: string): string {
  if (!isIpv6(s)) throw new RangeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  // The WHATWG URL serializer compresses exactly like RFC 5952 / inet_ntop.
  return new URL(`http://[${s}]/`).hostname.slice(1, -1);
}

/** The address as a 128-bit number. */
export function ipv6ToBigInt(s: string): bigint {
  const groups = canonicalIpv6(s).split('::');
  const head = groups[0] === '' ? [] : (groups[0] ?? '').split(':');
  const tail = groups.length > 1 && groups[1] !== '' ? (groups[1] ?? '').split(':') : [];
  const zeros = new Array<string>(8 - head.length - tail.length).fill('0');
  const all = groups.length > 1 ? [...head, ...zeros, ...tail] : head;
  return all.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** Whether `cidr` (`addr/len`, or a bare address = /128) contains `address`. */
export function ipv6Contains(cidr: string, address: string): boolean {
  const [net = '', bits = '128'] = cidr.split('/');
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) throw new RangeError(`not an IPv6 prefix: ${cidr}`);
  const shift = BigInt(128 - prefix);
  return ipv6ToBigInt(net) >> shift === ipv6ToBigInt(address) >> shift;
}
