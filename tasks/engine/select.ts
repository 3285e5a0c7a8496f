// --limit and --tags: pure selection of hosts and tasks, with usage errors
// that list what exists.
import { UsageError } from '../../src/errors.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import type { Task } from './types.ts';

const GROUPS: Record<string, HostSpec['role']> = {
  storage: 'storage',
  hypervisors: 'hypervisor',
  hypervisor: 'hypervisor',
};

export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Hosts named by `limit` (host names, FQDNs or the groups `storage`, `hypervisors`), in inventory order. */
export function selectHosts(inventory: Inventory, limit: readonly string[]): HostSpec[] {
  if (limit.length === 0) return [...inventory.hosts];
  const wanted = new Set<string>();
  for (const item of limit) {
    const role = GROUPS[item];
    const matches = role
      ? inventory.hosts.filter((h) => h.role === role)
      : inventory.hosts.filter((h) => h.name === item || h.fqdn === item);
    if (matches.length === 0 && !role) {
      throw new UsageError(
        `--limit: no host or group named '${item}' in ${inventory.file}`,
        `use host names (${inventory.hosts.map((h) => h.name).join(', ')}) or groups (storage, hypervisors), comma-separated`,
      );
    }
    for (const h of matches) wanted.add(h.name);
  }
  return inventory.hosts.filter((h) => wanted.has(h.name));
}

/** Tasks carrying at least one of `tags` (all when empty); an unknown tag is a usage error. */
export function selectTasks<T extends Pick<Task, 'tags' | 'name'>>(tasks: readonly T[], tags: readonly string[]): T[] {
  if (tags.length === 0) return [...tasks];
  const known = new Set(tasks.flatMap((t) => t.tags));
  const unknown = tags.filter((t) => !known.has(t));
  if (unknown.length > 0) {
    throw new UsageError(`--tags: unknown tag${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `known tags: ${[...known].sort().join(', ')}`);
  }
  return tasks.filter((t) => t.tags.some((tag) => tags.includes(tag)));
}
