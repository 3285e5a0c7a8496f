// The rules a JSON Schema cannot say: addresses inside the cluster network,
// nothing duplicated, the balancer's hosts are hypervisors, thresholds in
// order, paths apply may act on, the schedule, only the selected balancer
// strategy's section written, a network backend the host's OS family offers. Pure: (data, which values passed the schema,
// the data as written) -> problems, each with the path it is about.
//
// They run even when the schema found problems, so that every problem of a
// readable document comes out at once: each rule runs only when every value
// it reads passed the schema (`usable`), and the rest are skipped.
import { osProfile, osProfiles } from '../os/profiles.ts';
import { parseSchedule } from './cron.ts';
import type { SchemaProblem } from './schema-errors.ts';
import { contains, intToIp, ipToInt, parseCidr } from './ipv4.ts';
import { plainPathProblem, systemPathProblem } from './path-checks.ts';
import type { RawHost, RawInventory } from './raw.ts';
import type { NetworkBackend } from './types.ts';
import { isWritten, otherPorts, sshdPortChecks, sshdPortOf } from './sshd-port.ts';
import type { DataPath } from './yaml-position.ts';

type Problem = SchemaProblem;

/** Whether the value at a path passed the schema (and so has the type and form raw.ts says). */
export type Usable = (path: DataPath) => boolean;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

interface HostEntry {
  readonly name: string;
  readonly group: 'storage' | 'hypervisors';
  readonly host: RawHost;
}

/** The hosts whose entry passed the schema as a whole. */
function hostEntries(raw: RawInventory, usable: Usable): HostEntry[] {
  const group = (name: 'storage' | 'hypervisors'): HostEntry[] => {
    const hosts: unknown = (raw[name] as unknown as Record<string, unknown> | undefined)?.hosts;
    if (!isObject(hosts)) return [];
    return Object.entries(hosts)
      .filter(([host, value]) => isObject(value) && usable([name, 'hosts', host]))
      .map(([host, value]) => ({ name: host, group: name, host: value as unknown as RawHost }));
  };
  return [...group('storage'), ...group('hypervisors')];
}

/**
 * Every problem the schema cannot see. `usable`: which values passed the
 * schema (all, by default). `written`: the data as parsed, before the schema
 * filled in defaults (to tell what the file says; the data itself by default).
 */
export function crossCheck(raw: RawInventory, usable: Usable = () => true, written: unknown = raw): Problem[] {
  const problems: Problem[] = [
    ...pathChecks(raw, usable, written),
    ...(usable(['cluster', 'network']) ? networkChecks(raw, usable) : []),
    ...hostChecks(raw, usable),
    ...sshdPortChecks(raw, hostEntries(raw, usable), usable, written),
    ...backendChecks(raw, usable),
  ];
  if (usable(['firewall', 'migration_ports'])) problems.push(...portChecks(raw));
  // the storage node's NFS server listens on 2049 (nfsd) and 20048 (mountd, fixed by apply): closed, no hypervisor mounts the export
  if (usable(['firewall', 'nfs_ports']) && raw.firewall.nfs_ports.every((_, i) => usable(['firewall', 'nfs_ports', i]))) {
    const missing = [[2049, 'nfsd'], [20048, 'mountd']].filter(([p]) => !raw.firewall.nfs_ports.includes(p as number));
    if (missing.length > 0) {
      problems.push({
        path: ['firewall', 'nfs_ports'],
        at: 'value',
        message: `firewall.nfs_ports: lacks ${missing.map(([p, w]) => `${p} (${w})`).join(' and ')}, where the storage node's NFS server listens; the hypervisors could not mount the export: add ${missing.length === 1 ? 'it' : 'them'}`,
      });
    }
  }
  // the operator's key and known_hosts are files: "~" or "/" is a directory
  for (const key of ['identity', 'known_hosts'] as const) {
    const value = usable(['ssh', key]) ? (raw.ssh as Record<string, unknown>)[key] : undefined;
    if (typeof value === 'string' && (value === '~' || value.endsWith('/'))) {
      problems.push({ path: ['ssh', key], at: 'value', message: `ssh.${key}: "${value}" is a directory; name the file, like ${key === 'identity' ? '~/.ssh/id_ed25519' : '~/.ssh/known_hosts'}` });
    }
  }
  problems.push(...balancerChecks(raw, usable, written));
  return problems;
}

function pathChecks(raw: RawInventory, usable: Usable, written: unknown): Problem[] {
  const problems: Problem[] = [];
  // The value at `path` when it passed the schema (read only then: the document may be anything).
  const plain = (path: string[], what: string): string | undefined => {
    if (!usable(path)) return undefined;
    const value = path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], raw) as string;
    const why = plainPathProblem(value) ?? systemPathProblem(value, what);
    if (why === undefined) return value;
    problems.push({ path, at: 'value', message: `${path.join('.')}: ${why}` });
    return undefined;
  };
  plain(['nfs', 'export'], 'chown and chmod (0755 root:root) and export');
  const mount = plain(['nfs', 'mount'], 'mount the NFS export over');
  const pool = plain(['pool', 'path'], 'build the libvirt pool in');
  // the lockspace: apply creates it on every hypervisor and, with locks.mount, mounts NFS over it
  const locks = raw.nfs.locks?.dir === undefined ? undefined : plain(['nfs', 'locks', 'dir'], 'create the lockspace in and mount NFS over');
  const clash = ([[mount, 'nfs.mount'], [pool, 'pool.path']] as const).find(([o]) => locks !== undefined && o !== undefined && (o === locks || o.startsWith(`${locks}/`)));
  if (locks !== undefined && clash) {
    problems.push({
      path: ['nfs', 'locks', 'dir'],
      at: 'value',
      message: `nfs.locks.dir: "${locks}" ${clash[0] === locks ? 'is' : 'holds'} ${clash[1]} (${clash[0]}); the lockspace needs a directory of its own, like /var/lib/hvmctl/lockd`,
    });
  }
  if (mount !== undefined && pool !== undefined && usable(['nfs', 'client']) && raw.nfs.client === 'kernel' && pool !== mount && !pool.startsWith(`${mount}/`)) {
    // point at the line the user wrote: pool.path when it is written, else nfs.mount (the pool's path is a default)
    problems.push(
      isWritten(written, ['pool', 'path'])
        ? { path: ['pool', 'path'], at: 'value', message: `pool.path: "${pool}" is not on the NFS mount ${mount}, so the hypervisors would not share their images` }
        : {
            path: ['nfs', 'mount'],
            at: 'value',
            message: `nfs.mount: ${mount} does not hold pool.path (not set, so its default "${pool}"), so the hypervisors would not share their images: set pool.path to a directory under ${mount}`,
          },
    );
  }
  return problems;
}

/** IPv4 blocks that are not for hosts on a LAN (RFC 6890). */
const SPECIAL_NETWORKS: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: '"this network"' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved (and the limited broadcast)' },
];

const overlaps = (a: ReturnType<typeof parseCidr>, b: ReturnType<typeof parseCidr>): boolean => a.network <= b.broadcast && b.network <= a.broadcast;

function networkChecks(raw: RawInventory, usable: Usable): Problem[] {
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
  if (net.prefix < 8) {
    problems.push({
      path: ['cluster', 'network'],
      at: 'value',
      message: `cluster.network: "${cidr}" spans more than a /8 (its broadcast and netmask would cover foreign networks); use the cluster's own subnet, like 172.21.3.0/26`,
    });
  }
  const special = net.prefix < 8 ? undefined : SPECIAL_NETWORKS.find((s) => overlaps(parseCidr(s.cidr), net));
  if (special) {
    problems.push({
      path: ['cluster', 'network'],
      at: 'value',
      message: `cluster.network: "${cidr}" is in ${special.cidr}, ${special.what}, not a network for hosts; use a private subnet, like 172.21.3.0/26`,
    });
  }

  const inNetwork = (path: (string | number)[], ip: string) => {
    const where = path.join('.');
    if (!contains(net, ip)) {
      problems.push({ path, at: 'value', message: `${where}: "${ip}" is not inside the cluster network ${cidr}` });
    } else if (ipToInt(ip) === net.network || ipToInt(ip) === net.broadcast) {
      const which = ipToInt(ip) === net.network ? 'network' : 'broadcast';
      problems.push({ path, at: 'value', message: `${where}: "${ip}" is the ${which} address of ${cidr}, not a host address` });
    }
  };
  if (usable(['cluster', 'gateway'])) inNetwork(['cluster', 'gateway'], raw.cluster.gateway);
  for (const entry of hostEntries(raw, usable)) {
    const path = [entry.group, 'hosts', entry.name, 'address'];
    if (usable(path)) inNetwork(path, entry.host.address);
  }
  return problems;
}

function hostChecks(raw: RawInventory, usable: Usable): Problem[] {
  const problems: Problem[] = [];
  const hosts = hostEntries(raw, usable);
  const gateway = usable(['cluster', 'gateway']) ? raw.cluster.gateway : undefined;
  const bridge = usable(['cluster', 'bridge']) ? raw.cluster.bridge : undefined;
  const seenName = new Map<string, HostEntry>();
  const seenAddress = new Map<string, HostEntry>();
  const seenMac = new Map<string, HostEntry>();
  for (const entry of hosts) {
    const base = [entry.group, 'hosts', entry.name];
    const ok = (field: string) => usable([...base, field]);
    if (ok('address') && entry.host.address === gateway) {
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
    if (ok('address')) {
      const address = seenAddress.get(entry.host.address);
      if (address) {
        problems.push({
          path: [...base, 'address'],
          at: 'value',
          message: `${base.join('.')}.address: "${entry.host.address}" is already the address of ${address.name}`,
        });
      } else seenAddress.set(entry.host.address, entry);
    }
    if (ok('mac')) {
      const first = Number.parseInt(entry.host.mac.slice(0, 2), 16);
      const zero = /^(00:){5}00$/i.test(entry.host.mac);
      if ((first & 1) === 1 || zero) {
        problems.push({
          path: [...base, 'mac'],
          at: 'value',
          message: `${base.join('.')}.mac: "${entry.host.mac}" is ${zero ? 'all zeros' : 'a multicast (or broadcast) address'}, which no interface may have; a locally administered unicast one looks like "52:54:00:15:03:0a"`,
        });
      }
      const macKey = entry.host.mac.toLowerCase();
      const mac = seenMac.get(macKey);
      if (mac) {
        problems.push({
          path: [...base, 'mac'],
          at: 'value',
          message: `${base.join('.')}.mac: "${entry.host.mac}" is already the MAC address of ${mac.name}`,
        });
      } else seenMac.set(macKey, entry);
    }
    if (ok('interface') && entry.host.interface === bridge) {
      problems.push({
        path: [...base, 'interface'],
        at: 'value',
        message: `${base.join('.')}.interface: "${entry.host.interface}" is the bridge's name; name the physical interface enslaved to it`,
      });
    }
  }

  return problems;
}

/** Each host's network backend (its own, else the top-level one) is one its OS family offers (src/os/profiles.ts). */
function backendChecks(raw: RawInventory, usable: Usable): Problem[] {
  const problems: Problem[] = [];
  const clusterFamily = usable(['cluster', 'os_family']) ? raw.cluster.os_family : undefined;
  const topLevel = usable(['network', 'backend']) ? raw.network?.backend : undefined;
  for (const entry of hostEntries(raw, usable)) {
    const base = [entry.group, 'hosts', entry.name];
    const family = usable([...base, 'os_family']) ? (entry.host.os_family ?? clusterFamily) : undefined;
    const own = usable([...base, 'network', 'backend']) ? entry.host.network?.backend : undefined;
    const backend = own ?? topLevel;
    if (family === undefined || backend === undefined) continue;
    const offered = osProfile(family).network.packages;
    if (offered[backend] !== null) continue;
    const choices = (Object.keys(offered) as NetworkBackend[]).filter((b) => offered[b] !== null);
    const path = own === undefined ? ['network', 'backend'] : [...base, 'network', 'backend'];
    problems.push({
      path,
      at: 'value',
      message:
        `${path.join('.')}: "${backend}" is not a network backend of ${family} (${base.join('.')} is ${family}); ` +
        `choose one of ${choices.join(', ')}${own === undefined ? `, here or under ${base.join('.')}.network.backend` : ''}`,
    });
  }
  return problems;
}

function portChecks(raw: RawInventory): Problem[] {
  // usable(['firewall', 'migration_ports']): LOW-HIGH digits, by the schema
  const [low, high] = raw.firewall.migration_ports.split('-').map(Number) as [number, number];
  if (low >= 1 && high <= 65535 && low <= high) return [];
  return [
    {
      path: ['firewall', 'migration_ports'],
      at: 'value',
      message: `firewall.migration_ports: "${raw.firewall.migration_ports}" must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535`,
    },
  ];
}

/**
 * The exporters' ports are opened on every hypervisor to the scrapers, addresses on the guests'
 * network: one that is also sshd's, libvirt's or in the migration range would open that to them
 * too, and two exporters cannot share one. The server's URL names a real port.
 */
function exporterPortChecks(raw: RawInventory, prometheus: NonNullable<RawInventory['balancer']['prometheus']>, usable: Usable): Problem[] {
  const problems: Problem[] = [];
  // what the hypervisors' firewall opens besides (libvirt's ports, the migration range), and each one's sshd
  const taken: { port: (p: number) => boolean; what: string }[] = otherPorts(raw, 'hypervisors', usable);
  if (usable(['ssh', 'port']) && usable(['ssh', 'sshd_port']) && isObject(raw.hypervisors) && usable(['hypervisors', 'hosts'])) {
    for (const [name, host] of Object.entries((raw.hypervisors as { hosts: Record<string, RawHost> }).hosts)) {
      if (!usable(['hypervisors', 'hosts', name]) || !isObject(host)) continue;
      const sshd = sshdPortOf(host, raw.ssh);
      taken.push({ port: (p) => p === sshd, what: `${name}'s sshd port` });
    }
  }
  // the schema filled in the defaults (9100, 9177)
  const node = prometheus.node_exporter_port;
  const libvirt = prometheus.libvirt_exporter_port;
  for (const [key, port] of [['node_exporter_port', node], ['libvirt_exporter_port', libvirt]] as const) {
    if (!usable(['balancer', 'prometheus', key])) continue;
    const clash = taken.find((t) => t.port(port));
    if (clash) {
      problems.push({
        path: ['balancer', 'prometheus', key],
        at: 'value',
        message: `balancer.prometheus.${key}: ${port} is ${clash.what}; the firewall opens the exporters' ports to the scrapers, so it would open that to them too: choose another port`,
      });
    }
  }
  if (node === libvirt && usable(['balancer', 'prometheus', 'libvirt_exporter_port'])) {
    problems.push({
      path: ['balancer', 'prometheus', 'libvirt_exporter_port'],
      at: 'value',
      message: `balancer.prometheus.libvirt_exporter_port: ${libvirt} is node_exporter's port too; the two exporters need a port each`,
    });
  }
  const urlPort = prometheus.url === undefined ? undefined : /^https?:\/\/[^/:]+:([0-9]+)/.exec(prometheus.url)?.[1];
  if (urlPort !== undefined && usable(['balancer', 'prometheus', 'url']) && (Number(urlPort) < 1 || Number(urlPort) > 65535)) {
    problems.push({ path: ['balancer', 'prometheus', 'url'], at: 'value', message: `balancer.prometheus.url: port ${urlPort} is not a port (1 to 65535)` });
  }
  return problems;
}

function balancerChecks(raw: RawInventory, usable: Usable, written: unknown): Problem[] {
  const problems: Problem[] = [];
  if (!isObject(raw.balancer)) return problems;
  const b = raw.balancer;
  const ok = (...path: (string | number)[]) => usable(['balancer', ...path]);
  const hypervisors: unknown = (raw.hypervisors as unknown as Record<string, unknown> | undefined)?.hosts;
  const hypervisorNames = isObject(hypervisors) && usable(['hypervisors', 'hosts']) ? Object.keys(hypervisors) : undefined;
  // Every name of a list that passed the schema is a hypervisor (an item the schema refused is its problem alone).
  const names = (path: (string | number)[], list: readonly string[] | undefined) => {
    if (hypervisorNames === undefined || !usable(path)) return;
    (list ?? []).forEach((name, i) => {
      if (usable([...path, i]) && !hypervisorNames.includes(name)) {
        problems.push({
          path: [...path, i],
          at: 'value',
          message: `${path.join('.')}[${i}]: "${name}" is not a hypervisor (hypervisors: ${hypervisorNames.join(', ')})`,
        });
      }
    });
  };
  names(['balancer', 'drained'], b.drained);
  const schedule = ok('schedule') ? parseSchedule(b.schedule) : { fields: [] };
  if ('problem' in schedule) problems.push({ path: ['balancer', 'schedule'], at: 'value', message: `balancer.schedule: ${schedule.problem}` });

  if (ok('cpu_source') && b.cpu_source === 'prometheus' && (!ok('prometheus') || b.prometheus?.url === undefined)) {
    problems.push({
      path: ['balancer', 'cpu_source'],
      at: 'value',
      message: "balancer.cpu_source: 'prometheus' needs the server to query: set balancer.prometheus.url (and scrapers, the addresses that scrape the exporters)",
    });
  }
  if (ok('prometheus') && b.prometheus !== undefined) problems.push(...exporterPortChecks(raw, b.prometheus, usable));
  if (ok('prometheus') && b.prometheus !== undefined && isObject(raw.hypervisors) && usable(['hypervisors', 'hosts']) && usable(['cluster', 'os_family'])) {
    const hosts = (raw.hypervisors as { hosts?: Record<string, { os_family?: RawInventory['cluster']['os_family'] } | null> }).hosts ?? {};
    const without = Object.entries(hosts).filter(([, h]) => osProfiles[h?.os_family ?? raw.cluster.os_family]?.prometheusExporters === null);
    if (without.length > 0) {
      const families = [...new Set(without.map(([, h]) => osProfiles[h?.os_family ?? raw.cluster.os_family]!.label))].join(', ');
      problems.push({
        path: ['balancer', 'prometheus'],
        at: 'key',
        message: `balancer.prometheus: apply installs the exporters from the OS's own packages, and ${without.map(([n]) => n).join(', ')} (${families}) ${without.length === 1 ? 'has' : 'have'} none: remove this section and install node_exporter and a libvirt exporter yourself`,
      });
    }
  }

  // Which section is read depends on the strategy: without a valid one, none is checked.
  if (!ok('strategy')) return problems;
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
  // The selected section's rules, each only on values that passed the schema
  // (an old-format `home: [list]` is a schema problem of the whole section).
  const at = ['balancer', b.strategy];
  if (!usable(at)) return problems;
  const s = b.strategy === 'home' ? b.home : b.consolidate;
  const field = (name: string) => usable([...at, name]);
  names([...at, 'hosts'], s.hosts);
  if (field('hosts') && s.hosts !== undefined && s.hosts.length === 0) {
    problems.push({ path: [...at, 'hosts'], at: 'value', message: `balancer.${b.strategy}.hosts: is empty; name at least one hypervisor` });
  }
  if (b.strategy === 'home') {
    names([...at, 'helpers'], b.home.helpers);
    (field('helpers') && field('hosts') ? (b.home.helpers ?? []) : []).forEach((name, i) => {
      if (usable([...at, 'helpers', i]) && b.home.hosts?.includes(name)) {
        problems.push({
          path: [...at, 'helpers', i],
          at: 'value',
          message: `balancer.home.helpers[${i}]: "${name}" is also a home host; a host cannot be both`,
        });
      }
    });
  }
  // Somewhere for a VM to go: a home with no helper can never move anything, and a cluster whose
  // balanced hosts are all drained has nowhere to send their VMs.
  if (b.strategy === 'home' && field('hosts') && field('helpers') && hypervisorNames !== undefined) {
    const homes = b.home.hosts ?? hypervisorNames.slice(0, 1);
    const helpers = b.home.helpers ?? hypervisorNames.filter((n) => !homes.includes(n));
    // (with neither written and one hypervisor, there is simply nothing to balance yet)
    if (helpers.length === 0 && (b.home.helpers !== undefined || b.home.hosts !== undefined)) {
      const written = b.home.helpers !== undefined;
      problems.push({
        path: [...at, written ? 'helpers' : 'hosts'],
        at: 'value',
        message: written
          ? 'balancer.home.helpers: is empty, so an overloaded home has nowhere to send a VM: name at least one hypervisor that is not a home'
          : 'balancer.home.hosts: every hypervisor is a home, so none is left as a helper and an overloaded home has nowhere to send a VM: leave one out',
      });
    }
  }
  if (ok('drained') && field('hosts') && hypervisorNames !== undefined && hypervisorNames.length > 0 && hypervisorNames.every((n) => b.drained.includes(n))) {
    problems.push({ path: ['balancer', 'drained'], at: 'value', message: 'balancer.drained: every hypervisor is drained, so no VM has anywhere to go: leave at least one in service' });
  }
  if (field('low') && field('high') && s.low >= s.high) {
    problems.push({
      path: [...at, 'low'],
      at: 'value',
      message: `balancer.${b.strategy}.low: ${s.low} must be below balancer.${b.strategy}.high (${s.high}), or VMs would bounce between hosts`,
    });
  }
  return problems;
}
