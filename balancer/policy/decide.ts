// decide(snapshot, config, history) -> Plan: the balancer's one pure function.
// The same call serves the cron run, `--dry-run` and trace replay. The config
// NAMES its strategy (config.strategy) and carries that strategy's settings;
// decide() looks the name up in a registry and never infers the strategy from
// the input. It reads its (readonly) input, builds one scratch ledger indexed
// by host, and returns the migrations with a reason each, or nothing with at
// least one reason. No clock (time comes in the snapshot), no randomness, no I/O.
import type { History, Plan, Snapshot } from '../types.ts';
import { Budget } from './budget.ts';
import { planDrains } from './drain.ts';
import { Ledger } from './ledger.ts';
import type { ConfigOf, Registry, Strategy } from './strategy.ts';
import { STRATEGIES, type BalancerConfig } from './strategies.ts';
import { unusable } from './eligibility.ts';

export type DecideWith<M> = (snapshot: Snapshot, config: ConfigOf<M>, history: History) => Plan;

/** decide() over a registry: the agent's (STRATEGIES) or the simulator's, which adds the yardsticks. */
export function decideWith<M>(registry: Registry<M>): DecideWith<M> {
  return (snapshot, config, history) => {
    const ledger = new Ledger(snapshot);
    const budget = new Budget(ledger, config);
    for (const book of ledger.order) {
      if (!book.state.reachable) {
        ledger.reasons.push(`${book.state.name} ${unusable(book.state)}: it neither gives nor receives this run`);
      }
    }
    for (const vm of ledger.orphans) {
      ledger.reasons.push(`${vm.name} runs on ${vm.host}, which is not in the snapshot: left alone`);
    }
    // A name and its settings travel together (ConfigOf), which the compiler cannot follow
    // through an indexed lookup: the cast restores that pairing, it adds nothing.
    const strategy = (registry as Record<PropertyKey, Strategy<unknown> | undefined>)[config.strategy as PropertyKey];
    if (!strategy) {
      const known = Object.keys(registry).join(', ');
      ledger.reasons.push(`strategy '${String(config.strategy)}' is not registered here (${known}): nothing done`);
      return { migrations: [], reasons: ledger.reasons };
    }
    if (config.maxMigrationsPerRun <= 0) {
      ledger.reasons.push('maxMigrationsPerRun is 0: the balancer only observes');
      return { migrations: [], reasons: ledger.reasons };
    }
    planDrains(config, strategy.drainLimit(config.settings), ledger, budget);
    strategy.plan({ snapshot, settings: config.settings, common: config, history, ledger, budget });
    budget.close();
    if (ledger.migrations.length === 0 && ledger.reasons.length === 0) ledger.reasons.push('nothing to do');
    const emptied = ledger.emptied();
    const migrations = ledger.migrations.map((m) => ({ ...m, predicted: ledger.predicted(m) }));
    return { migrations, reasons: ledger.reasons, ...(emptied.length > 0 ? { emptied } : {}) };
  };
}

/** The agent's decide(): the strategies a cluster can run. */
export const decide: (snapshot: Snapshot, config: BalancerConfig, history: History) => Plan = decideWith(STRATEGIES);
