// Who may give, who may receive, which VM may move: the rules every policy shares.
import type { CommonConfig, History, VmState } from '../types.ts';
import type { HostBook } from './ledger.ts';
import { DEST_BACKOFF_MAX_S, DEST_BACKOFF_S, pairKey, VM_BACKOFF_MAX_S, VM_BACKOFF_S, waitLeft, type Failures } from '../backoff.ts';

export function isDrained(book: HostBook, config: CommonConfig): boolean {
  return book.state.drained || config.drained.includes(book.state.name);
}

/** "is unreachable", or "has unknown metrics (why)" for a host that answered without numbers. */
export function unusable(state: { readonly unmeasured?: string }): string {
  return state.unmeasured === undefined ? 'is unreachable' : `has unknown metrics (${state.unmeasured})`;
}

/** Why a host cannot receive VMs, or undefined when it can. */
export function cannotReceive(book: HostBook, config: CommonConfig): string | undefined {
  if (!book.state.reachable) return `${book.state.name} ${unusable(book.state)}`;
  if (isDrained(book, config)) return `${book.state.name} is drained`;
  if (book.state.cpuCapacity <= 0) return `${book.state.name} reports no CPU capacity`;
  return undefined;
}

/** Why a VM may not move now, or undefined when it may. */
export function cannotMove(
  vm: VmState,
  config: CommonConfig,
  cooldown: number,
  history: History,
  now: number,
  moved: ReadonlySet<string>,
): string | undefined {
  if (vm.pinned || config.pinned.includes(vm.name)) return `${vm.name} is pinned`;
  if (moved.has(vm.name)) return `${vm.name} already moves this run`;
  const failed = history.failures?.vms[vm.name];
  const left = waitLeft(failed, now, VM_BACKOFF_S, VM_BACKOFF_MAX_S);
  if (failed !== undefined && left > 0) {
    return `${vm.name} failed to move ${failed[1]} time${failed[1] === 1 ? '' : 's'} in a row: next try in ${Math.round(left)} s`;
  }
  const last = history.lastMigration.get(vm.name);
  if (last !== undefined && now - last < cooldown) {
    return `${vm.name} moved ${Math.round(now - last)} s ago (cooldown ${cooldown} s)`;
  }
  return undefined;
}

/** Why `vm` avoids `dest` after failing to move there, or undefined. */
export function failedThere(vm: VmState, dest: string, failures: Failures | undefined, now: number): string | undefined {
  const f = failures?.destinations[pairKey(vm.name, dest)];
  const left = waitLeft(f, now, DEST_BACKOFF_S, DEST_BACKOFF_MAX_S);
  return f !== undefined && left > 0 ? `${vm.name} failed to move to ${dest} (${f[1]}x in a row): avoided for ${Math.round(left)} s` : undefined;
}

export function memMargin(config: CommonConfig): number {
  return config.memMarginMiB ?? 256;
}

/** Why `book` cannot take `vm` in memory, or undefined. */
export function lacksMemory(book: HostBook, vm: VmState, config: CommonConfig): string | undefined {
  const free = book.mem - memMargin(config);
  if (free < vm.memMiB) {
    return `${book.state.name} has ${Math.round(free)} MiB free after margin, ${vm.name} needs ${Math.round(vm.memMiB)} MiB`;
  }
  return undefined;
}
