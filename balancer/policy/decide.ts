// decide(snapshot, config, history) -> Plan: the balancer's one pure function.
// The same call serves the cron run, `--dry-run` and trace replay. It reads its
// (readonly) input, builds one scratch ledger indexed by host, and returns the
// migrations with a reason each, or nothing with at least one reason.
// No clock (time comes in the snapshot), no randomness, no I/O.
import type { BalancerConfig, History, Plan, Snapshot } from '../types.ts';
import { Budget } from './budget.ts';
import { planDrains } from './drain.ts';
import { planHome } from './home.ts';
import { Ledger } from './ledger.ts';
import { planPool } from './pool.ts';
import { planThrMmt } from './thr-mmt.ts';

export function decide(snapshot: Snapshot, config: BalancerConfig, history: History): Plan {
  const ledger = new Ledger(snapshot);
  const budget = new Budget(ledger, config);
  for (const book of ledger.order) {
    if (!book.state.reachable) {
      ledger.reasons.push(`${book.state.name} is unreachable: it neither gives nor receives this run`);
    }
  }
  for (const vm of ledger.orphans) {
    ledger.reasons.push(`${vm.name} runs on ${vm.host}, which is not in the snapshot: left alone`);
  }
  if (config.maxMigrationsPerRun <= 0) {
    ledger.reasons.push('maxMigrationsPerRun is 0: the balancer only observes');
    return { migrations: [], reasons: ledger.reasons };
  }
  planDrains(config, ledger, budget);
  if (config.policy === 'thr-mmt') planThrMmt(snapshot, config, history, ledger, budget);
  else if (config.home.length > 0) planHome(snapshot, config, history, ledger, budget);
  else planPool(snapshot, config, history, ledger, budget);
  budget.close();
  if (ledger.migrations.length === 0 && ledger.reasons.length === 0) ledger.reasons.push('nothing to do');
  return { migrations: ledger.migrations, reasons: ledger.reasons };
}
