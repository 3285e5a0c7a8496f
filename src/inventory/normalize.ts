// Checked YAML data -> the trusted Inventory of types.ts: camelCase, defaults
// filled, `~` expanded, network figures computed, hosts storage first. Pure.
import path from 'node:path';
import { intToIp, parseCidr } from './ipv4.ts';
import type { RawHost, RawInventory } from './raw.ts';
import { sshdPortOf } from './sshd-port.ts';
import type { HostSpec, Inventory, Role } from './types.ts';

export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

export function normalize(raw: RawInventory, file: string, homeDirectory: string): Inventory {
  const net = parseCidr(raw.cluster.network);
  const host = (name: string, role: Role, h: RawHost): HostSpec => ({
    name,
    fqdn: `${name}.${raw.cluster.domain}`,
    role,
    address: h.address,
    mac: h.mac.toLowerCase(),
    interface: h.interface,
    osFamily: h.os_family ?? raw.cluster.os_family,
    sshHost: h.ssh_host ?? h.address,
    sshPort: h.ssh_port ?? raw.ssh.port,
    sshdPort: sshdPortOf(h, raw.ssh),
    ...(h.timeout === undefined ? {} : { timeout: h.timeout }),
  });
  const hypervisorNames = Object.keys(raw.hypervisors.hosts);
  const home = raw.balancer.home ?? hypervisorNames.slice(0, 1);
  const [low, high] = raw.firewall.migration_ports.split('-').map(Number) as [number, number];
  const b = raw.balancer;
  return {
    file: path.resolve(file),
    cluster: {
      domain: raw.cluster.domain,
      network: raw.cluster.network,
      prefix: net.prefix,
      netmask: intToIp(net.netmask),
      networkAddress: intToIp(net.network),
      broadcast: intToIp(net.broadcast),
      gateway: raw.cluster.gateway,
      bridge: raw.cluster.bridge,
    },
    ssh: {
      user: raw.ssh.user,
      port: raw.ssh.port,
      identity: expandHome(raw.ssh.identity, homeDirectory),
      knownHosts: expandHome(raw.ssh.known_hosts, homeDirectory),
      clusterKeyType: raw.ssh.cluster_key_type,
    },
    hosts: [
      ...Object.entries(raw.storage.hosts).map(([name, h]) => host(name, 'storage', h)),
      ...Object.entries(raw.hypervisors.hosts).map(([name, h]) => host(name, 'hypervisor', h)),
    ],
    nfs: { ...raw.nfs },
    pool: { ...raw.pool },
    firewall: {
      backend: raw.firewall.backend,
      migrationPorts: [low, high],
      libvirtPorts: [...raw.firewall.libvirt_ports],
      nfsPorts: [...raw.firewall.nfs_ports],
    },
    balancer: {
      home,
      helpers: b.helpers ?? hypervisorNames.filter((n) => !home.includes(n)),
      high: b.high,
      overloadWindow: b.overload_window,
      low: b.low,
      calmWindow: b.calm_window,
      cooldown: b.cooldown,
      maxMigrationsPerRun: b.max_migrations_per_run,
      migrationTimeout: b.migration_timeout,
      sampleSeconds: b.sample_seconds,
      cpuSource: b.cpu_source,
      schedule: b.schedule,
      pinned: [...b.pinned],
      drained: [...b.drained],
    },
  };
}
