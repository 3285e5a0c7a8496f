// A strategy is registered under its name with its own settings, as the
// descheduler registers a plugin with its args: decide() looks the name up and
// never guesses the strategy from the shape of its input (a home list that
// happens to be empty once chose a different algorithm). The same contract
// serves the agent's registry (home, consolidate) and the simulator's, which
// adds the yardsticks (balancer/sim/strategies.ts) without shipping them.
import type { Budget } from './budget.ts';
import type { Ledger } from './ledger.ts';
import type { CommonConfig, History, Snapshot } from '../types.ts';

export interface StrategyRun<S> {
  readonly snapshot: Snapshot;
  readonly settings: S;
  readonly common: CommonConfig;
  readonly history: History;
  readonly ledger: Ledger;
  readonly budget: Budget;
}

export interface Strategy<S> {
  readonly name: string;
  /** One line for a person: what it optimises. */
  readonly summary: string;
  /** Utilisation (0..1) a host may reach when it receives a drained host's VM. */
  drainLimit(settings: S): number;
  /** Adds migrations to run.ledger, and a reason for every host or VM it leaves alone. */
  plan(run: StrategyRun<S>): void;
}

/** Name -> strategy, for a map of name -> settings type. */
export type Registry<M> = { readonly [K in keyof M]: Strategy<M[K]> };

/** What decide() is told: a registered name, that strategy's settings, and the common part. */
export type ConfigOf<M> = { [K in keyof M]: CommonConfig & { readonly strategy: K; readonly settings: M[K] } }[keyof M];
