// Where apply connects (ssh_host, ssh_port) is not always where the host's
// sshd listens: behind a port forward or a bastion, apply reaches port 2201
// of another machine while sshd listens on 22. The firewall must open the
// port sshd listens on (opening the forwarded one locked the operator out),
// and the hypervisors reach each other directly, so their known_hosts pins and
// the balancer's ssh and qemu+ssh use it too. This file says which port that
// is, and refuses an inventory where it cannot be known. Pure.
import type { SchemaProblem } from './schema-errors.ts';
import type { RawHost, RawInventory } from './raw.ts';
import type { DataPath } from './yaml-position.ts';

/**
 * The port a host's sshd listens on: its own `sshd_port`; else its
 * `ssh_port` when apply connects straight to its address (no `ssh_host`: the
 * port apply reaches IS sshd's); else `ssh.sshd_port`; else `ssh.port`.
 */
export function sshdPortOf(host: RawHost, ssh: RawInventory['ssh']): number {
  return host.sshd_port ?? (host.ssh_host === undefined ? host.ssh_port : undefined) ?? ssh.sshd_port ?? ssh.port;
}

/** Where a host's sshd port comes from in the document, for pointing at it. */
function sourceOf(base: DataPath, host: RawHost, ssh: RawInventory['ssh']): DataPath {
  if (host.sshd_port !== undefined) return [...base, 'sshd_port'];
  if (host.ssh_host === undefined && host.ssh_port !== undefined) return [...base, 'ssh_port'];
  return ssh.sshd_port !== undefined ? ['ssh', 'sshd_port'] : ['ssh', 'port'];
}

interface OtherPort {
  port: (p: number) => boolean;
  what: string;
  /** Where that setting is in the document (pointed at when the sshd port is a default). */
  at: (p: number) => DataPath;
}

/** The ports the firewall opens on a host of this group for something else than SSH. */
export function otherPorts(raw: RawInventory, group: 'storage' | 'hypervisors', usable: (p: DataPath) => boolean): OtherPort[] {
  const listed = (key: 'nfs_ports' | 'libvirt_ports', what: string): OtherPort => ({
    port: (p) => raw.firewall[key].includes(p),
    what,
    at: (p) => ['firewall', key, raw.firewall[key].indexOf(p)],
  });
  if (group === 'storage') return usable(['firewall', 'nfs_ports']) ? [listed('nfs_ports', 'an NFS port (firewall.nfs_ports)')] : [];
  const out: OtherPort[] = [];
  if (usable(['firewall', 'libvirt_ports'])) out.push(listed('libvirt_ports', "libvirt's port (firewall.libvirt_ports)"));
  if (usable(['firewall', 'migration_ports'])) {
    const [low, high] = raw.firewall.migration_ports.split('-').map(Number) as [number, number];
    out.push({ port: (p) => p >= low && p <= high, what: 'in the migration range (firewall.migration_ports)', at: () => ['firewall', 'migration_ports'] });
  }
  return out;
}

/** Whether the document as written holds a value at `path` (not a default filled in). */
export function isWritten(written: unknown, path: DataPath): boolean {
  let at: unknown = written;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return false;
    at = (at as Record<string | number, unknown>)[key];
  }
  return at !== undefined;
}

/**
 * The sshd port of every usable host must be known (a host reached through
 * `ssh_host` on a port of its own needs `sshd_port`, or `ssh.sshd_port`) and
 * must not be a port the firewall opens for something else.
 */
export function sshdPortChecks(
  raw: RawInventory,
  hosts: readonly { name: string; group: 'storage' | 'hypervisors'; host: RawHost }[],
  usable: (p: DataPath) => boolean,
  written: unknown = raw,
): SchemaProblem[] {
  if (!usable(['ssh', 'port']) || !usable(['ssh', 'sshd_port'])) return [];
  const problems: SchemaProblem[] = [];
  for (const { name, group, host } of hosts) {
    const base: DataPath = [group, 'hosts', name];
    if (host.ssh_host !== undefined && host.ssh_port !== undefined && host.ssh_port !== raw.ssh.port && host.sshd_port === undefined && raw.ssh.sshd_port === undefined) {
      problems.push({
        path: [...base, 'ssh_port'],
        at: 'value',
        message:
          `${base.join('.')}.ssh_port: apply connects to port ${host.ssh_port} of ${host.ssh_host} (ssh_host), so the port ${name}'s own sshd listens on is not known; ` +
          `the firewall opens it and the other hypervisors connect to it: set ${base.join('.')}.sshd_port (or ssh.sshd_port)`,
      });
      continue;
    }
    const port = sshdPortOf(host, raw.ssh);
    for (const other of otherPorts(raw, group, usable)) {
      if (!other.port(port)) continue;
      const at = sourceOf(base, host, raw.ssh);
      if (isWritten(written, at)) {
        problems.push({ path: at, at: 'value', message: `${at.join('.')}: ${name}'s sshd port ${port} is ${other.what}; the firewall would open it for both` });
      } else {
        // the sshd port is a default (22): the line the user wrote is the other setting
        const there = other.at(port);
        const where = there.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
        problems.push({ path: there, at: 'value', message: `${where}: ${port} is ${name}'s sshd port (${at.join('.')}, not set, so its default); the firewall would open it for both: choose another port` });
      }
    }
  }
  return problems;
}
