// Shared by the operation tests: the default inventory, a task context, and
// a way to run one task's facts through the fake connector.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseInventory } from '../../src/inventory/load.ts';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import type { ClusterFacts, Fact, TaskContext } from '../../tasks/engine/types.ts';

const file = fileURLToPath(new URL('../../inventory.yaml', import.meta.url));
export const inventory: Inventory = parseInventory(readFileSync(file, 'utf8'), file);

export function host(name: string, inv: Inventory = inventory): HostSpec {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
}

/** Published facts: by host, then by fact key. */
export function clusterOf(values: Record<string, Record<string, unknown>> = {}): ClusterFacts {
  return { get: <T>(h: string, fact: Fact<T>) => values[h]?.[fact.key] as T | undefined };
}

export function ctxFor(name: string, over: Partial<TaskContext> = {}): TaskContext {
  const inv = over.inventory ?? inventory;
  return { inventory: inv, host: host(name, inv), cluster: clusterOf(), check: false, ...over };
}

export function withNfs(over: Partial<Inventory['nfs']>, inv: Inventory = inventory): Inventory {
  return { ...inv, nfs: { ...inv.nfs, ...over } };
}

/** Every script of a task result, in order (what the runner would execute). */
export function scripts(result: { changes: readonly { commands: readonly { script: string }[] }[] }): string[] {
  return result.changes.flatMap((c) => c.commands.map((x) => x.script));
}
