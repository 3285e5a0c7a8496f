// --limit and --tags: the one parser of both flags, for every command that
// takes them (apply, plan, render), and pure selection of hosts and tasks,
// with usage errors that list what exists. A flag that is given but names
// nothing (`--limit ""`, `--limit ,`) is a usage error, never "everything".
import { UsageError } from '../../src/errors.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import type { Task } from './types.ts';

const GROUPS: Record<string, HostSpec['role']> = {
  storage: 'storage',
  hypervisors: 'hypervisor',
  hypervisor: 'hypervisor',
};

/**
 * A comma-separated flag's items: undefined when the flag was not given (no
 * selection: every host, every task); a usage error when it was given and
 * names nothing.
 */
export function listOption(flag: '--limit' | '--tags', value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} names nothing`,
      flag === '--limit' ? 'name hosts, FQDNs or groups, comma-separated, e.g. --limit kvmnode1,storage; leave the flag out for every host' : 'name tags, comma-separated, e.g. --tags hosts,firewall; leave the flag out for every task',
    );
  }
  return items;
}

/** Hosts named by `limit` (host names, FQDNs or the groups `storage`, `hypervisors`), in inventory order; every host when undefined. */
export function selectHosts(inventory: Inventory, limit: readonly string[] | undefined): HostSpec[] {
  if (limit === undefined) return [...inventory.hosts];
  if (limit.length === 0) throw new UsageError('--limit names nothing', 'leave the flag out for every host');
  const wanted = new Set<string>();
  for (const item of limit) {
    const role = GROUPS[item];
    const matches = role
      ? inventory.hosts.filter((h) => h.role === role)
      : inventory.hosts.filter((h) => h.name === item || h.fqdn === item);
    if (matches.length === 0 && !role) {
      throw new UsageError(
        `--limit: no host or group named '${item}' in ${inventory.file}`,
        `use host names (${inventory.hosts.map((h) => h.name).join(', ')}), FQDNs or groups (storage, hypervisors), comma-separated`,
      );
    }
    for (const h of matches) wanted.add(h.name);
  }
  return inventory.hosts.filter((h) => wanted.has(h.name));
}

/** Tasks carrying at least one of `tags` (all when undefined); an unknown tag is a usage error. */
export function selectTasks<T extends Pick<Task, 'tags' | 'name'>>(tasks: readonly T[], tags: readonly string[] | undefined): T[] {
  if (tags === undefined) return [...tasks];
  if (tags.length === 0) throw new UsageError('--tags names nothing', 'leave the flag out for every task');
  const known = new Set(tasks.flatMap((t) => t.tags));
  const unknown = tags.filter((t) => !known.has(t));
  if (unknown.length > 0) {
    throw new UsageError(`--tags: unknown tag${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `known tags: ${[...known].sort().join(', ')}`);
  }
  return tasks.filter((t) => t.tags.some((tag) => tags.includes(tag)));
}
