// Checked YAML data -> the trusted Inventory of types.ts: camelCase, defaults
// filled, `~` expanded, network figures computed, hosts storage first. Pure.
import { LOCKSPACE_ON_EXPORT } from './types.ts';
import path from 'node:path';
import { osProfile } from '../os/profiles.ts';
import { intToIp, parseCidr } from './ipv4.ts';
import type { RawHost, RawInventory } from './raw.ts';
import { sshdPortOf } from './sshd-port.ts';
import type { BalancerSpec, HostSpec, Inventory, Role, StrategySpec } from './types.ts';

export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

export function normalize(raw: RawInventory, file: string, homeDirectory: string): Inventory {
  const net = parseCidr(raw.cluster.network);
  const host = (name: string, role: Role, h: RawHost): HostSpec => {
    const osFamily = h.os_family ?? raw.cluster.os_family;
    return {
      name,
      fqdn: `${name}.${raw.cluster.domain}`,
      role,
      address: h.address,
      mac: h.mac.toLowerCase(),
      interface: h.interface,
      osFamily,
      networkBackend: h.network?.backend ?? raw.network.backend ?? osProfile(osFamily).network.defaultBackend,
      sshHost: h.ssh_host ?? h.address,
      sshPort: h.ssh_port ?? raw.ssh.port,
      sshdPort: sshdPortOf(h, raw.ssh),
      ...(h.timeout === undefined ? {} : { timeout: h.timeout }),
    };
  };
  const hypervisorNames = Object.keys(raw.hypervisors.hosts);
  const [low, high] = raw.firewall.migration_ports.split('-').map(Number) as [number, number];
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
    nfs: {
      ...raw.nfs,
      locks: {
        dir: raw.nfs.locks?.dir ?? (raw.nfs.client === 'kernel' ? `${raw.nfs.mount.replace(/\/+$/, '')}/${LOCKSPACE_ON_EXPORT}` : '/var/lib/hvmctl/lockd'),
        mount: raw.nfs.locks?.mount ?? raw.nfs.client === 'qemu',
      },
    },
    pool: { ...raw.pool },
    firewall: {
      backend: raw.firewall.backend,
      migrationPorts: [low, high],
      libvirtPorts: [...raw.firewall.libvirt_ports],
      nfsPorts: [...raw.firewall.nfs_ports],
    },
    balancer: balancerSpec(raw, hypervisorNames),
  };
}

function balancerSpec(raw: RawInventory, hypervisorNames: readonly string[]): BalancerSpec {
  const b = raw.balancer;
  return {
    ...strategySpec(raw, hypervisorNames),
    maxMigrationsPerRun: b.max_migrations_per_run,
    migrationTimeout: b.migration_timeout,
    sampleSeconds: b.sample_seconds,
    cpuSource: b.cpu_source,
    ...(b.prometheus
      ? {
          prometheus: {
            ...(b.prometheus.url !== undefined ? { url: b.prometheus.url } : {}),
            scrapers: [...b.prometheus.scrapers],
            window: b.prometheus.window,
            maxAge: b.prometheus.max_age,
            nodeExporterPort: b.prometheus.node_exporter_port,
            libvirtExporterPort: b.prometheus.libvirt_exporter_port,
          },
        }
      : {}),
    schedule: b.schedule,
    pinned: [...b.pinned],
    drained: [...b.drained],
  };
}

/** Only the named strategy's section is read (cross-checks reject the other one when written). */
function strategySpec(raw: RawInventory, hypervisorNames: readonly string[]): StrategySpec {
  const b = raw.balancer;
  switch (b.strategy) {
    case 'home': {
      const h = b.home;
      const hosts = h.hosts ?? hypervisorNames.slice(0, 1);
      return {
        strategy: 'home',
        home: {
          hosts,
          helpers: h.helpers ?? hypervisorNames.filter((n) => !hosts.includes(n)),
          high: h.high,
          overloadWindow: h.overload_window,
          low: h.low,
          calmWindow: h.calm_window,
          cooldown: h.cooldown,
        },
      };
    }
    case 'consolidate': {
      const c = b.consolidate;
      return {
        strategy: 'consolidate',
        consolidate: {
          hosts: c.hosts ?? [...hypervisorNames],
          high: c.high,
          overloadWindow: c.overload_window,
          low: c.low,
          calmWindow: c.calm_window,
          cooldown: c.cooldown,
          cooldownMemory: c.cooldown_memory,
          history: c.history,
          ...(c.on_empty ? { onEmpty: [...c.on_empty] } : {}),
        },
      };
    }
  }
}
