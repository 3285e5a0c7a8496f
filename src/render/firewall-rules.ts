// The firewall rules a host should have, as iptables-save prints them (so the
// firewall task can compare them with `iptables-save` output line by line, and
// so the rules file is byte-identical after a save/restore round trip).
// Canonical form: matches in the order iptables-save prints them
// (`-s`, `-i`, `-p`, `-m <proto>`, ports, `-m comment`), the target last, port
// ranges with `:`. Every rule carries an `hvmctl: <what>` comment so drift can
// be named. Pure.
import { contains, parseCidr } from '../inventory/ipv4.ts';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { hypervisors } from '../inventory/types.ts';

export interface FirewallExtra {
  /**
   * The address apply connects from (learned from $SSH_CLIENT on the host).
   * When outside the cluster network, SSH from it is accepted too, so a
   * default-drop policy never locks the operator out.
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

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Every INPUT rule `host` should have, in order, as iptables-save lines. */
export function wantedFirewallRules(inv: Inventory, host: HostSpec, extra: FirewallExtra = {}): string[] {
  const net = inv.cluster.network;
  const ssh = host.sshPort;
  const rules = [
    '-A INPUT -i lo -m comment --comment "hvmctl: loopback" -j ACCEPT',
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "hvmctl: replies" -j ACCEPT',
    rule(`-s ${net} -p icmp -m icmp --icmp-type 8`, 'ping from the cluster'),
  ];
  const operator = extra.operatorAddress;
  if (operator !== undefined) {
    // Validate at the edge: this comes from the host's environment, not the inventory.
    if (!IPV4.test(operator)) throw new RangeError(`operatorAddress is not an IPv4 address: ${JSON.stringify(operator)}`);
    if (!contains(parseCidr(net), operator)) {
      rules.push(rule(`-s ${operator}/32 -p tcp -m tcp --dport ${ssh}`, 'operator ssh'));
    }
  }
  rules.push(rule(`-s ${net} -p tcp -m tcp --dport ${ssh}`, 'ssh from the cluster'));
  if (host.role === 'storage') {
    for (const port of inv.firewall.nfsPorts) {
      for (const proto of ['tcp', 'udp']) {
        rules.push(rule(`-s ${net} -p ${proto} -m ${proto} --dport ${port}`, `nfs ${port}/${proto} from the cluster`));
      }
    }
  } else {
    const [low, high] = inv.firewall.migrationPorts;
    for (const peer of hypervisors(inv).filter((h) => h.name !== host.name)) {
      for (const port of inv.firewall.libvirtPorts) {
        rules.push(rule(`-s ${peer.address}/32 -p tcp -m tcp --dport ${port}`, `libvirt ${port} from ${peer.name}`));
      }
      rules.push(rule(`-s ${peer.address}/32 -p tcp -m tcp --dport ${low}:${high}`, `migration from ${peer.name}`));
    }
  }
  return rules;
}
