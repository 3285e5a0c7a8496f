// The rules a JSON Schema cannot say: addresses inside the cluster network,
// nothing duplicated, the balancer's hosts are hypervisors, thresholds in
// order. Pure: (schema-valid data) -> problems, each with the path it is about.
import type { SchemaProblem } from './schema-errors.ts';
import { contains, intToIp, ipToInt, parseCidr } from './ipv4.ts';
import type { RawHost, RawInventory } from './raw.ts';

type Problem = SchemaProblem;

interface HostEntry {
  readonly name: string;
  readonly group: 'storage' | 'hypervisors';
  readonly host: RawHost;
}

function hostEntries(raw: RawInventory): HostEntry[] {
  return [
    ...Object.entries(raw.storage.hosts).map(([name, host]) => ({ name, group: 'storage' as const, host })),
    ...Object.entries(raw.hypervisors.hosts).map(([name, host]) => ({ name, group: 'hypervisors' as const, host })),
  ];
}

/** `written`: the data as parsed, before the schema filled in defaults (to tell what the file says). */
export function crossCheck(raw: RawInventory, written: unknown = raw): Problem[] {
  const problems: Problem[] = [];
  const net = parseCidr(raw.cluster.network);
  const cidr = raw.cluster.network;

  if (net.address !== net.network) {
    problems.push({
      path: ['cluster', 'network'],
      at: 'value',
      message: `cluster.network: "${cidr}" has host bits set; write the network address, ${intToIp(net.network)}/${net.prefix}`,
    });
  }
  if (net.prefix > 30) {
    problems.push({
      path: ['cluster', 'network'],
      at: 'value',
      message: `cluster.network: "${cidr}" is too small for a cluster; use a prefix of /30 or shorter`,
    });
  }

  const usable = (path: (string | number)[], ip: string) => {
    const where = path.join('.');
    if (!contains(net, ip)) {
      problems.push({ path, at: 'value', message: `${where}: "${ip}" is not inside the cluster network ${cidr}` });
    } else if (ipToInt(ip) === net.network || ipToInt(ip) === net.broadcast) {
      const which = ipToInt(ip) === net.network ? 'network' : 'broadcast';
      problems.push({ path, at: 'value', message: `${where}: "${ip}" is the ${which} address of ${cidr}, not a host address` });
    }
  };
  usable(['cluster', 'gateway'], raw.cluster.gateway);

  const hosts = hostEntries(raw);
  const seenName = new Map<string, HostEntry>();
  const seenAddress = new Map<string, HostEntry>();
  const seenMac = new Map<string, HostEntry>();
  for (const entry of hosts) {
    const base = [entry.group, 'hosts', entry.name];
    usable([...base, 'address'], entry.host.address);
    if (entry.host.address === raw.cluster.gateway) {
      problems.push({
        path: [...base, 'address'],
        at: 'value',
        message: `${base.join('.')}.address: "${entry.host.address}" is the gateway's address`,
      });
    }
    const name = seenName.get(entry.name);
    if (name) {
      problems.push({
        path: base,
        at: 'key',
        message: `${base.join('.')}: host name "${entry.name}" is already used in ${name.group}.hosts`,
      });
    } else seenName.set(entry.name, entry);
    const address = seenAddress.get(entry.host.address);
    if (address) {
      problems.push({
        path: [...base, 'address'],
        at: 'value',
        message: `${base.join('.')}.address: "${entry.host.address}" is already the address of ${address.name}`,
      });
    } else seenAddress.set(entry.host.address, entry);
    const macKey = entry.host.mac.toLowerCase();
    const mac = seenMac.get(macKey);
    if (mac) {
      problems.push({
        path: [...base, 'mac'],
        at: 'value',
        message: `${base.join('.')}.mac: "${entry.host.mac}" is already the MAC address of ${mac.name}`,
      });
    } else seenMac.set(macKey, entry);
    if (entry.host.interface === raw.cluster.bridge) {
      problems.push({
        path: [...base, 'interface'],
        at: 'value',
        message: `${base.join('.')}.interface: "${entry.host.interface}" is the bridge's name; name the physical interface enslaved to it`,
      });
    }
  }

  const [low, high] = raw.firewall.migration_ports.split('-').map(Number) as [number, number];
  if (low < 1 || high > 65535 || low > high) {
    problems.push({
      path: ['firewall', 'migration_ports'],
      at: 'value',
      message: `firewall.migration_ports: "${raw.firewall.migration_ports}" must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535`,
    });
  }

  if (raw.nfs.client === 'kernel' && raw.pool.path !== raw.nfs.mount && !raw.pool.path.startsWith(`${raw.nfs.mount}/`)) {
    problems.push({
      path: ['pool', 'path'],
      at: 'value',
      message: `pool.path: "${raw.pool.path}" is not on the NFS mount ${raw.nfs.mount}, so the hypervisors would not share their images`,
    });
  }

  problems.push(...balancerChecks(raw, written));
  return problems;
}

function balancerChecks(raw: RawInventory, written: unknown): Problem[] {
  const problems: Problem[] = [];
  const b = raw.balancer;
  const hypervisorNames = Object.keys(raw.hypervisors.hosts);
  const names = (path: (string | number)[], list: readonly string[] | undefined) => {
    (list ?? []).forEach((name, i) => {
      if (!hypervisorNames.includes(name)) {
        problems.push({
          path: [...path, i],
          at: 'value',
          message: `${path.join('.')}[${i}]: "${name}" is not a hypervisor (hypervisors: ${hypervisorNames.join(', ')})`,
        });
      }
    });
  };
  names(['balancer', 'drained'], b.drained);
  // A strategy reads only its own section: a section written for another one would be
  // silently ignored, so it is an error (the inventory as written, before defaults).
  const section = (name: 'home' | 'consolidate'): boolean => isObject(written) && isObject(written.balancer) && written.balancer[name] !== undefined;
  for (const other of ['home', 'consolidate'] as const) {
    if (other !== b.strategy && section(other)) {
      problems.push({
        path: ['balancer', other],
        at: 'key',
        message: `balancer.${other}: settings of the '${other}' strategy, but balancer.strategy is '${b.strategy}': set strategy: ${other}, or remove this section`,
      });
    }
  }
  const s = b.strategy === 'home' ? b.home : b.consolidate;
  const at = ['balancer', b.strategy];
  names([...at, 'hosts'], s.hosts);
  if (s.hosts !== undefined && s.hosts.length === 0) {
    problems.push({ path: [...at, 'hosts'], at: 'value', message: `balancer.${b.strategy}.hosts: is empty; name at least one hypervisor` });
  }
  if (b.strategy === 'home') {
    names([...at, 'helpers'], b.home.helpers);
    (b.home.helpers ?? []).forEach((name, i) => {
      if (b.home.hosts?.includes(name)) {
        problems.push({
          path: [...at, 'helpers', i],
          at: 'value',
          message: `balancer.home.helpers[${i}]: "${name}" is also a home host; a host cannot be both`,
        });
      }
    });
  }
  if (s.low >= s.high) {
    problems.push({
      path: [...at, 'low'],
      at: 'value',
      message: `balancer.${b.strategy}.low: ${s.low} must be below balancer.${b.strategy}.high (${s.high}), or VMs would bounce between hosts`,
    });
  }
  const fieldCount = b.schedule.trim().split(/\s+/).length;
  if (!b.schedule.trim().startsWith('@') && fieldCount !== 5) {
    problems.push({
      path: ['balancer', 'schedule'],
      at: 'value',
      message: `balancer.schedule: "${b.schedule}" has ${fieldCount} fields; a cron schedule has 5, like "* * * * *"`,
    });
  }
  return problems;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
