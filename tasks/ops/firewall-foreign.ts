// Rules in INPUT that apply does not own (no `hvmctl:` comment): libvirt's
// jumps into its own chains, another operator's address, a site's jump host.
// apply used to replace INPUT as a whole and so removed them all. Now it owns
// only what it needs for its guarantees, and keeps the rest:
//   - the INPUT policy (DROP) and its own rules, which come first in INPUT
//     (after libvirt's jumps): every hvmctl rule is an ACCEPT, so no foreign
//     rule can come between a packet and the operator's SSH rule;
//   - libvirt's jumps (`-j LIBVIRT_INP`) stay ahead of them, where libvirt
//     inserts them itself (it only adds a jump that is missing, wherever the
//     existing one is): LIBVIRT_INP only accepts DNS and DHCP on libvirt's own
//     NAT bridges, and the chains themselves (and FORWARD, OUTPUT) are never
//     touched;
//   - every other foreign rule is kept, in its order, after apply's rules,
//     unless it ACCEPTs from the guests' segment: a rule accepting from any
//     address (no `-s`, on any interface or the cluster bridge) or from a
//     range of the cluster network wider than one address would undo the
//     default drop against the guests, which is what the firewall is for.
//     Those are removed, and plan names each with the reason.
// Pure.
import { contains, isIpv4, parseCidr } from '../../src/inventory/ipv4.ts';
import type { IpFamily } from '../../src/render/ip-family.ts';
import { type FilterTable, type IptablesRule, isManaged } from '../facts/iptables.ts';

/** Where the guests are, as the foreign-rule check needs it. */
export interface GuestSegment {
  /** The cluster network (IPv4 CIDR), shared with the guests. */
  readonly network: string;
  /** The bridge the guests' interfaces are on. */
  readonly bridge: string;
}

export interface ForeignRules {
  /** libvirt's jumps into its own chains, kept ahead of apply's rules. */
  readonly libvirt: readonly IptablesRule[];
  /** Other foreign rules, kept after apply's rules in their order. */
  readonly kept: readonly IptablesRule[];
  /** Foreign rules apply removes, each with why. */
  readonly removed: readonly { readonly rule: IptablesRule; readonly why: string }[];
}

/** `-j LIBVIRT_INP` and the like: libvirt's own jump, nothing else in the rule. */
export function isLibvirtJump(rule: IptablesRule): boolean {
  return /^-j LIBVIRT_[A-Z]+$/.test(rule.spec);
}

/** A rule spec's value of an option that is not negated (`-s X`, not `! -s X`). */
function option(spec: string, name: string): string | undefined {
  const tokens = spec.split(' ');
  const i = tokens.indexOf(name);
  if (i < 0 || tokens[i - 1] === '!') return undefined;
  return tokens[i + 1];
}

/** Only replies (conntrack RELATED/ESTABLISHED): accepting them opens nothing. */
function repliesOnly(spec: string): boolean {
  return /-m conntrack --ctstate (RELATED,ESTABLISHED|ESTABLISHED,RELATED|ESTABLISHED|RELATED) /.test(spec) && !/ -(s|i|p) /.test(` ${spec}`);
}

/** Why this foreign rule would undo the default drop against the guests, or undefined when it does not. */
export function opensToGuests(family: IpFamily, rule: IptablesRule, guests: GuestSegment): string | undefined {
  if (!/ -j ACCEPT$/.test(` ${rule.spec}`) || repliesOnly(rule.spec)) return undefined;
  const iface = option(rule.spec, '-i');
  if (iface !== undefined && iface !== guests.bridge) return undefined;
  const source = option(rule.spec, '-s');
  if (source === undefined) return 'accepts from every address, the guests on the bridge included';
  if (family === 'ipv6') return undefined;
  const [bare, bits] = source.split('/');
  const prefix = Number(bits ?? '32');
  if (bare === undefined || !isIpv4(bare) || !Number.isInteger(prefix) || prefix === 32) return undefined;
  const net = parseCidr(guests.network);
  const wider = parseCidr(prefix <= net.prefix ? source : guests.network);
  const narrower = prefix <= net.prefix ? guests.network : source;
  return contains(wider, narrower.split('/')[0] ?? '') ? `accepts from ${source}, which holds guests' addresses of the cluster network ${guests.network}` : undefined;
}

/** The foreign rules of INPUT, sorted into what apply keeps (and where) and what it removes. */
export function foreignInputRules(family: IpFamily, live: FilterTable, guests: GuestSegment): ForeignRules {
  const libvirt: IptablesRule[] = [];
  const kept: IptablesRule[] = [];
  const removed: { rule: IptablesRule; why: string }[] = [];
  for (const rule of live.rules) {
    if (rule.chain !== 'INPUT' || isManaged(rule)) continue;
    if (isLibvirtJump(rule)) {
      libvirt.push(rule);
      continue;
    }
    const why = opensToGuests(family, rule, guests);
    if (why === undefined) kept.push(rule);
    else removed.push({ rule, why });
  }
  return { libvirt, kept, removed };
}

export const inputLine = (rule: IptablesRule): string => `-A ${rule.chain} ${rule.spec}`;

/** INPUT as apply leaves it: libvirt's jumps, apply's rules (`wanted`), the kept foreign rules. */
export function wantedInputLayout(wanted: readonly string[], foreign: ForeignRules): string[] {
  return [...foreign.libvirt.map(inputLine), ...wanted, ...foreign.kept.map(inputLine)];
}
