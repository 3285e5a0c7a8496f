// Packages and services each role needs (first stage: later stages use them).
//   packages: apt on Debian (fact: dpkg-query), dnf on RHEL (fact: rpm -q);
//   services: where systemd is PID 1, `systemctl enable --now`; elsewhere (the
//     lab, containers) the documented fallback: if no process of that name
//     runs (`pgrep -x`), start the daemon directly. Without systemd nothing
//     starts them at boot: the host's own start-up (the lab's host script)
//     must, and apply starts them again when they are not running.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { sh } from '../../src/shell.ts';
import type { Change, Fact, Task } from '../engine/types.ts';

/** Pure: the packages `host` needs, by OS family, role and the inventory's NFS choices. */
export function wantedPackages(inv: Inventory, host: HostSpec): string[] {
  const debian = host.osFamily === 'debian';
  const common = debian ? ['iptables', 'procps'] : ['iptables', 'procps-ng'];
  if (host.role === 'storage') {
    const nfs =
      inv.nfs.server === 'ganesha'
        ? ['nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind']
        : debian
          ? ['nfs-kernel-server']
          : ['nfs-utils'];
    return [...common, ...nfs];
  }
  const base = debian
    ? ['libvirt-daemon', 'libvirt-daemon-driver-qemu', 'libvirt-clients', 'qemu-system-x86', 'qemu-utils', 'sysstat', 'openssh-client', 'cron']
    : ['libvirt-daemon', 'libvirt-daemon-driver-qemu', 'libvirt-client', 'qemu-kvm', 'qemu-img', 'sysstat', 'openssh-clients', 'cronie'];
  const nfsClient =
    inv.nfs.client === 'qemu'
      ? debian
        ? ['libnfs-utils', 'qemu-block-extra']
        : ['libnfs-utils']
      : debian
        ? ['nfs-common']
        : ['nfs-utils'];
  return [...common, ...base, ...nfsClient];
}

/** Installed packages among `names` (dpkg-query on Debian, rpm -q on RHEL). */
export function installedFact(osFamily: HostSpec['osFamily'], names: readonly string[]): Fact<ReadonlySet<string>> {
  if (osFamily === 'debian') {
    return {
      key: `dpkg:${names.join(',')}`,
      command: `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${sh`${names}`}`,
      parse: parseDpkgQuery,
    };
  }
  return {
    key: `rpm:${names.join(',')}`,
    command: `rpm -q --qf '%{NAME}\\n' ${sh`${names}`}`,
    parse: (r) => parseRpmQuery(names, r),
  };
}

/** `pkg ii ` lines; the second status letter `i` means installed. Unknown names only go to stderr (exit 1). */
export function parseDpkgQuery(result: RunResult): ReadonlySet<string> {
  const installed = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^(\S+) ([a-z])([a-zA-Z ])/.exec(line);
    if (!m) throw new ParseError('dpkg-query output', `unexpected line ${JSON.stringify(line)}`, 'is this a Debian-family host? (os_family in the inventory)');
    if (m[3] === 'i') installed.add((m[1] ?? '').replace(/:.*$/, ''));
  }
  if (result.code !== 0 && !/no packages found matching/.test(result.stderr)) {
    throw new ParseError('dpkg-query output', `exit ${result.code}: ${result.stderr.trim()}`, 'is dpkg working on the host?');
  }
  return installed;
}

/** `rpm -q --qf '%{NAME}\n'`: the name for each installed one, `package X is not installed` for the others. */
export function parseRpmQuery(names: readonly string[], result: RunResult): ReadonlySet<string> {
  const installed = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const l = line.trim();
    if (l === '' || /^package \S+ is not installed$/.test(l)) continue;
    if (!names.includes(l)) throw new ParseError('rpm -q output', `unexpected line ${JSON.stringify(line)}`, 'is this a RHEL-family host? (os_family in the inventory)');
    installed.add(l);
  }
  return installed;
}

export function installCommand(osFamily: HostSpec['osFamily'], missing: readonly string[]): string {
  if (osFamily === 'debian') {
    const install = sh`apt-get install -y -q --no-install-recommends ${missing}`;
    // a stale package index is the usual reason for "unable to locate": update once and retry
    return `export DEBIAN_FRONTEND=noninteractive\n${install} || { apt-get update -q && ${install}; }`;
  }
  return sh`dnf install -y ${missing}`;
}

export const packagesTask: Task<{ installed: ReadonlySet<string> }> = {
  name: 'packages',
  tags: ['packages'],
  stage: 'packages',
  applies: () => true,
  facts: (ctx) => ({ installed: installedFact(ctx.host.osFamily, wantedPackages(ctx.inventory, ctx.host)) }),
  plan: (ctx, facts) => {
    const wanted = wantedPackages(ctx.inventory, ctx.host);
    const missing = wanted.filter((p) => !facts.installed.has(p));
    if (missing.length === 0) return { changes: [], reason: `${wanted.length} packages installed` };
    return {
      changes: [{ summary: `install ${missing.join(' ')}`, commands: [{ script: installCommand(ctx.host.osFamily, missing) }] }],
      reason: '',
    };
  },
};

export interface Service {
  /** systemd unit. */
  readonly unit: string;
  /** Process name for `pgrep -x` where systemd is not PID 1. */
  readonly process: string;
  /** How to start it without systemd (it must daemonize). */
  readonly start: string;
}

/** Pure: the daemons `host` needs running (the NFS server's own service is the nfs task's). */
export function wantedServices(host: HostSpec): Service[] {
  if (host.role !== 'hypervisor') return [];
  return [
    { unit: 'virtlogd', process: 'virtlogd', start: 'mkdir -p /var/log/libvirt /run/libvirt && virtlogd -d' },
    { unit: 'libvirtd', process: 'libvirtd', start: 'mkdir -p /var/log/libvirt /run/libvirt && libvirtd -d' },
    host.osFamily === 'debian' ? { unit: 'cron', process: 'cron', start: 'cron' } : { unit: 'crond', process: 'crond', start: 'crond' },
  ];
}

export type ServiceState = { readonly systemd: true; readonly enabled: boolean; readonly active: boolean } | { readonly systemd: false; readonly running: boolean };

export function serviceFact(service: Service): Fact<ServiceState> {
  return {
    key: `service:${service.unit}`,
    command: [
      `if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then`,
      sh`  printf 'systemd %s %s\\n' "$(systemctl is-enabled ${service.unit} 2>/dev/null || true)" "$(systemctl is-active ${service.unit} 2>/dev/null || true)"`,
      sh`elif pgrep -x ${service.process} >/dev/null; then echo 'init running'; else echo 'init stopped'; fi`,
    ].join('\n'),
    parse: parseServiceState,
  };
}

export function parseServiceState(result: RunResult): ServiceState {
  const line = result.stdout.replace(/\n$/, '');
  if (line === 'init running') return { systemd: false, running: true };
  if (line === 'init stopped') return { systemd: false, running: false };
  const m = /^systemd (\S*) (\S*)$/.exec(line);
  if (!m) throw new ParseError('service state', `unexpected output ${JSON.stringify(line)}`);
  return { systemd: true, enabled: m[1] === 'enabled' || m[1] === 'static' || m[1] === 'indirect', active: m[2] === 'active' };
}

export const servicesTask: Task<Record<string, ServiceState>> = {
  name: 'services',
  tags: ['packages', 'services'],
  stage: 'packages',
  applies: (host) => wantedServices(host).length > 0,
  facts: (ctx) => Object.fromEntries(wantedServices(ctx.host).map((s) => [s.unit, serviceFact(s)])),
  plan: (ctx, facts) => {
    const changes: Change[] = [];
    for (const s of wantedServices(ctx.host)) {
      const state = facts[s.unit];
      if (!state) continue;
      if (state.systemd) {
        if (!state.enabled || !state.active) changes.push({ summary: `enable and start ${s.unit}`, commands: [{ script: sh`systemctl enable --now ${s.unit}` }] });
      } else if (!state.running) {
        changes.push({ summary: `start ${s.process} (no systemd)`, commands: [{ script: s.start }] });
      }
    }
    const names = wantedServices(ctx.host).map((s) => s.unit).join(', ');
    return { changes, reason: `${names} running` };
  },
};

export const packageTasks: readonly Task[] = [packagesTask as Task, servicesTask as Task];
