// Drained hosts are emptied (kind 'drain'), whatever the strategy: every movable
// VM goes to its home if that can take it, else to the least loaded host that can.
import type { CommonConfig } from '../types.ts';
import type { Budget } from './budget.ts';
import { fitting, refusedText } from './destination.ts';
import { isDrained, unusable } from './eligibility.ts';
import { pct } from './format.ts';
import type { Ledger } from './ledger.ts';

/** `limit`: the utilisation a destination may reach (the strategy's own, Strategy.drainLimit). */
export function planDrains(config: CommonConfig, limit: number, ledger: Ledger, budget: Budget): void {
  for (const book of ledger.order) {
    if (!isDrained(book, config)) continue;
    const name = book.state.name;
    if (!book.state.reachable) {
      ledger.reasons.push(
        book.state.unmeasured === undefined
          ? `${name} is drained but unreachable: its VMs cannot be moved until it answers`
          : `${name} is drained but ${unusable(book.state)}: its VMs cannot be moved until it is measured`,
      );
      continue;
    }
    if (book.vms.length === 0) {
      ledger.reasons.push(`${name} is drained and already empty`);
      continue;
    }
    for (const vm of [...book.vms]) {
      const stop = vm.pinned || config.pinned.includes(vm.name) ? `${vm.name} is pinned` : undefined;
      // A drain is the operator's order: the cooldown does not hold it back.
      const why = stop ?? (ledger.moved.has(vm.name) ? `${vm.name} already moves this run` : undefined);
      if (why) {
        ledger.reasons.push(`${name} is drained but ${why}: it stays`);
        continue;
      }
      const home = vm.home !== undefined && vm.home !== name ? ledger.hosts.get(vm.home) : undefined;
      const others = ledger.order
        .filter((b) => b !== book && b !== home)
        .sort((a, b) => ledger.util(a) - ledger.util(b));
      const { fits, refused } = fitting(ledger, vm, home ? [home, ...others] : others, config, limit);
      const to = fits[0];
      if (!to) {
        ledger.reasons.push(`${name} is drained but no host can take ${vm.name}: ${refusedText(refused)}`);
        continue;
      }
      if (!budget.take()) continue;
      const after = ledger.utilWith(to, vm);
      ledger.move(vm, book, to, {
        vm: vm.name,
        from: name,
        to: to.state.name,
        kind: 'drain',
        reason: `${name} is drained; ${vm.name} goes to ${to === home ? 'its home ' : ''}${to.state.name} (${pct(after)} after)`,
        fallbacks: fits.slice(1, 4).map((b) => b.state.name),
      });
    }
  }
}
