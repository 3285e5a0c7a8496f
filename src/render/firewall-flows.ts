// What a host's IPv4 firewall accepts, as data, once for both backends: the
// iptables rules (firewall-rules.ts) and firewalld's rich rules
// (tasks/ops/firewall-firewalld.ts) are two spellings of these flows, so the
// two cannot drift apart.
//
// Every source is one address (/32): the cluster network is shared with the
// guests (they sit on the same bridge), so "from 172.21.3.0/26" would let any
// guest reach sshd, rpcbind and the NFS server. Accepted, besides loopback
// and replies (which each backend writes itself):
//   - ping and SSH from each other host of the cluster;
//   - SSH from the operator's address (the one apply connects from), whatever
//     it is, unless it is one of those hosts: a default-drop firewall must
//     never lock the operator out;
//   - on the storage node: the NFS ports, over TCP only, from each hypervisor.
//     Not UDP: a guest can forge a hypervisor's source address on a datagram
//     (there is no handshake to answer), so a /32 is no boundary for UDP, and
//     rpcbind and mountd answer UDP with replies many times the request's size,
//     which the forger would aim at that hypervisor. The clients use TCP (the
//     kernel's NFSv4, libnfs);
//   - on a hypervisor: libvirt and migration ports from each other hypervisor;
//     with balancer.prometheus, the exporters' ports from each scraper.
// Pure.
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { hypervisors } from '../inventory/types.ts';

export type Flow =
  | { readonly source: string; readonly icmp: 'echo-request'; readonly what: string }
  | { readonly source: string; readonly proto: 'tcp'; readonly ports: readonly [number, number]; readonly what: string };

const one = (address: string): string => `${address}/32`;

/** The other hosts of the cluster (everything but `host` itself, which reaches itself over loopback). */
export function otherHosts(inv: Inventory, host: HostSpec): HostSpec[] {
  return inv.hosts.filter((h) => h.name !== host.name);
}

/** Every IPv4 flow `host` accepts, in rule order. `operator`: the operator's IPv4 address, if it connects over IPv4. */
export function wantedFlows(inv: Inventory, host: HostSpec, operator: string | undefined): Flow[] {
  const ssh: readonly [number, number] = [host.sshdPort, host.sshdPort];
  const others = otherHosts(inv, host);
  const flows: Flow[] = [];
  if (operator !== undefined && !others.some((h) => h.address === operator)) {
    flows.push({ source: one(operator), proto: 'tcp', ports: ssh, what: 'operator ssh' });
  }
  for (const peer of others) {
    flows.push({ source: one(peer.address), icmp: 'echo-request', what: `ping from ${peer.name}` });
    flows.push({ source: one(peer.address), proto: 'tcp', ports: ssh, what: `ssh from ${peer.name}` });
  }
  if (host.role === 'storage') {
    for (const hv of hypervisors(inv)) {
      for (const port of inv.firewall.nfsPorts) {
        flows.push({ source: one(hv.address), proto: 'tcp', ports: [port, port], what: `nfs ${port}/tcp from ${hv.name}` });
      }
    }
    return flows;
  }
  for (const peer of hypervisors(inv).filter((h) => h.name !== host.name)) {
    for (const port of inv.firewall.libvirtPorts) {
      flows.push({ source: one(peer.address), proto: 'tcp', ports: [port, port], what: `libvirt ${port} from ${peer.name}` });
    }
    flows.push({ source: one(peer.address), proto: 'tcp', ports: inv.firewall.migrationPorts, what: `migration from ${peer.name}` });
  }
  const prom = inv.balancer.prometheus;
  for (const scraper of prom?.scrapers ?? []) {
    for (const [port, what] of [
      [prom!.nodeExporterPort, 'node_exporter'],
      [prom!.libvirtExporterPort, 'libvirt exporter'],
    ] as const) {
      flows.push({ source: one(scraper), proto: 'tcp', ports: [port, port], what: `${what} ${port} from scraper ${scraper}` });
    }
  }
  return flows;
}
