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

export function crossCheck(raw: RawInventory): Problem[] {
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

  problems.push(...balancerChecks(raw));
  return problems;
}

function balancerChecks(raw: RawInventory): Problem[] {
  const problems: Problem[] = [];
  const b = raw.balancer;
  const hypervisorNames = Object.keys(raw.hypervisors.hosts);
  const list = (field: 'home' | 'helpers' | 'drained') => {
    (b[field] ?? []).forEach((name, i) => {
      if (!hypervisorNames.includes(name)) {
        problems.push({
          path: ['balancer', field, i],
          at: 'value',
          message: `balancer.${field}[${i}]: "${name}" is not a hypervisor (hypervisors: ${hypervisorNames.join(', ')})`,
        });
      }
    });
  };
  list('home');
  list('helpers');
  list('drained');
  if (b.home !== undefined && b.home.length === 0) {
    problems.push({ path: ['balancer', 'home'], at: 'value', message: 'balancer.home: is empty; name at least one hypervisor' });
  }
  (b.helpers ?? []).forEach((name, i) => {
    if (b.home?.includes(name)) {
      problems.push({
        path: ['balancer', 'helpers', i],
        at: 'value',
        message: `balancer.helpers[${i}]: "${name}" is also a home host; a host cannot be both`,
      });
    }
  });
  if (b.low >= b.high) {
    problems.push({
      path: ['balancer', 'low'],
      at: 'value',
      message: `balancer.low: ${b.low} must be below balancer.high (${b.high}), or VMs would bounce between hosts`,
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
