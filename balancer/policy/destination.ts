// Choosing where a VM may go: filter candidates (reachable, not drained, memory,
// stays under a CPU limit), collect why the others were refused.
import type { CommonConfig, VmState } from '../types.ts';
import { cannotReceive, failedThere, lacksMemory } from './eligibility.ts';
import type { Failures } from '../backoff.ts';
import type { HostBook, Ledger } from './ledger.ts';
import { pct } from './format.ts';

export interface Choice {
  readonly fits: HostBook[];
  readonly refused: string[];
}

/** Candidates in the given order that can take `vm` and stay below `limit` (utilisation, 0..1). */
export function fitting(
  ledger: Ledger,
  vm: VmState,
  candidates: readonly HostBook[],
  config: CommonConfig,
  limit: number,
  exclude: ReadonlySet<string> = new Set(),
  failures?: { readonly failures: Failures | undefined; readonly now: number },
): Choice {
  const fits: HostBook[] = [];
  const refused: string[] = [];
  for (const book of candidates) {
    if (book.state.name === vm.host || exclude.has(book.state.name)) continue;
    const why =
      cannotReceive(book, config) ??
      (failures ? failedThere(vm, book.state.name, failures.failures, failures.now) : undefined) ??
      lacksMemory(book, vm, config) ??
      cpuProblem(ledger, book, vm, limit);
    if (why) refused.push(why);
    else fits.push(book);
  }
  return { fits, refused };
}

function cpuProblem(ledger: Ledger, book: HostBook, vm: VmState, limit: number): string | undefined {
  const perCore = book.state.cpuPerCore;
  if (perCore !== undefined && vm.cpuUsed > perCore) {
    return `${book.state.name}'s cores (${Math.round(perCore)}) are smaller than ${vm.name}'s use (${Math.round(vm.cpuUsed)})`;
  }
  const after = ledger.utilWith(book, vm);
  return after < limit ? undefined : `${book.state.name} would reach ${pct(after)} (limit ${pct(limit)})`;
}

export function refusedText(refused: readonly string[]): string {
  if (refused.length === 0) return 'no candidate host';
  const shown = refused.slice(0, 3).join('; ');
  return refused.length > 3 ? `${shown}; and ${refused.length - 3} more` : shown;
}
