// The firewall rules a host should have, as iptables-save prints them (so the
// firewall task can compare them with `iptables-save` output line by line, and
// so the rules file is byte-identical after a save/restore round trip).
// Canonical form: matches in the order iptables-save prints them
// (`-s`, `-i`, `-p`, `-m <proto>`, ports, `-m comment`), the target last, port
// ranges with `:`. Every rule carries an `hvmctl: <what>` comment so drift can
// be named. The IPv4 flows themselves (each from one address: SSH and ping
// from the cluster's other hosts and the operator, NFS from the hypervisors,
// libvirt and migration between hypervisors) are firewall-flows.ts. Pure.
//
// IPv6 (wantedIpv6FirewallRules): the cluster network is IPv4 only, so over
// IPv6 a host accepts loopback, replies, the ICMPv6 it needs for IPv6 to work
// at all, and SSH from the operator when the operator connects over IPv6;
// nothing else (sshd and rpcbind listen on `::` too, and the segment is shared
// with the guests, which all have link-local addresses).
import { isIpv4 } from '../inventory/ipv4.ts';
import { canonicalIpv6, isIpv6 } from '../inventory/ipv6.ts';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { type Flow, wantedFlows } from './firewall-flows.ts';
import type { IpFamily } from './ip-family.ts';

export interface FirewallExtra {
  /**
   * The address apply connects from (learned from $SSH_CLIENT on the host),
   * IPv4 or IPv6 (without a `%zone`). SSH from it is accepted in that family's
   * rules (IPv4: unless it is another host of the cluster, whose own rule
   * covers it), so a default-drop policy never locks the operator out.
   */
  readonly operatorAddress?: string;
}

/** The policies of the filter table's built-in chains. */
export const firewallPolicies = { INPUT: 'DROP', FORWARD: 'ACCEPT', OUTPUT: 'ACCEPT' } as const;

/** Comment prefix of every rule hvmctl writes. */
export const firewallCommentPrefix = 'hvmctl: ';

function rule(matches: string, what: string): string {
  return `-A INPUT ${matches} -m comment --comment "${firewallCommentPrefix}${what}" -j ACCEPT`;
}

/** The operator's address, validated at the edge: it comes from the host's environment, not the inventory. */
function operatorOf(extra: FirewallExtra): { ipv4?: string; ipv6?: string } {
  const op = extra.operatorAddress;
  if (op === undefined) return {};
  if (isIpv4(op)) return { ipv4: op };
  if (isIpv6(op)) return { ipv6: canonicalIpv6(op) };
  throw new RangeError(`operatorAddress is not an IPv4 or IPv6 address: ${JSON.stringify(op)}`);
}

/** A flow (firewall-flows.ts) as iptables-save prints its rule. */
function flowRule(flow: Flow): string {
  if ('icmp' in flow) return rule(`-s ${flow.source} -p icmp -m icmp --icmp-type 8`, flow.what);
  const [low, high] = flow.ports;
  const ports = low === high ? `${low}` : `${low}:${high}`;
  return rule(`-s ${flow.source} -p ${flow.proto} -m ${flow.proto} --dport ${ports}`, flow.what);
}

/** Every INPUT rule `host` should have, in order, as iptables-save lines. */
export function wantedFirewallRules(inv: Inventory, host: HostSpec, extra: FirewallExtra = {}): string[] {
  return [
    '-A INPUT -i lo -m comment --comment "hvmctl: loopback" -j ACCEPT',
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "hvmctl: replies" -j ACCEPT',
    ...wantedFlows(inv, host, operatorOf(extra).ipv4).map(flowRule),
  ];
}

/**
 * The ICMPv6 types a host (not a router) must accept for IPv6 to work, after
 * RFC 4890 section 4.4.1 (traffic to the firewall's own interfaces that must
 * not be dropped) and 4.4.2 (time exceeded code 1, parameter problem code 0:
 * here every code of those error types is accepted):
 *   - the error messages that keep communication working, path MTU discovery
 *     above all (packet too big);
 *   - multicast listener queries: a host that ignores them stops answering
 *     with reports, and MLD-snooping switches then stop forwarding the
 *     solicited-node multicast that neighbour discovery relies on;
 *   - router advertisements and neighbour solicitation/advertisement (SLAAC,
 *     address resolution, duplicate address detection).
 * Left out on purpose: router solicitation, inverse ND, SEND and multicast
 * router discovery (only routers or unused protocols process them), redirect
 * (RFC 4890 leaves it to policy), and echo request: over IPv4 only the cluster
 * may ping, and there is no IPv6 cluster network. No hop-limit match is needed
 * for the ND types: the kernel itself discards ND messages whose hop limit is
 * not 255 (RFC 4861).
 */
export const icmpv6Accepted: readonly { readonly type: number; readonly what: string }[] = [
  { type: 1, what: 'destination unreachable' },
  { type: 2, what: 'packet too big' },
  { type: 3, what: 'time exceeded' },
  { type: 4, what: 'parameter problem' },
  { type: 130, what: 'multicast listener query' },
  { type: 134, what: 'router advertisement' },
  { type: 135, what: 'neighbour solicitation' },
  { type: 136, what: 'neighbour advertisement' },
];

/** Every IPv6 INPUT rule `host` should have, in order, as ip6tables-save lines (the policies are firewallPolicies). */
export function wantedIpv6FirewallRules(host: HostSpec, extra: FirewallExtra = {}): string[] {
  const rules = [
    '-A INPUT -i lo -m comment --comment "hvmctl: loopback" -j ACCEPT',
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "hvmctl: replies" -j ACCEPT',
    ...icmpv6Accepted.map(({ type, what }) => rule(`-p ipv6-icmp -m icmp6 --icmpv6-type ${type}`, `icmpv6 ${what}`)),
  ];
  const operator = operatorOf(extra).ipv6;
  if (operator !== undefined) rules.push(rule(`-s ${operator}/128 -p tcp -m tcp --dport ${host.sshdPort}`, 'operator ssh'));
  return rules;
}

const rulesOf: Readonly<Record<IpFamily, (inv: Inventory, host: HostSpec, extra: FirewallExtra) => string[]>> = {
  ipv4: wantedFirewallRules,
  ipv6: (_inv, host, extra) => wantedIpv6FirewallRules(host, extra),
};

/** The wanted INPUT rules of one address family. */
export function wantedFamilyRules(family: IpFamily, inv: Inventory, host: HostSpec, extra: FirewallExtra = {}): string[] {
  return rulesOf[family](inv, host, extra);
}
