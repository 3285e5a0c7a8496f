// The strategies a cluster can run, by name (the inventory's balancer.strategy).
// Only these are bundled into the agent; the simulator's registry adds its
// yardsticks (THR-MMT, MFPED, the seed's rule) in balancer/sim/strategies.ts.
import { consolidateStrategy, type ConsolidateSettings } from './consolidate.ts';
import { homeStrategy, type HomeSettings } from './home.ts';
import type { ConfigOf, Registry } from './strategy.ts';

export interface StrategySettings {
  readonly home: HomeSettings;
  readonly consolidate: ConsolidateSettings;
}

export type StrategyName = keyof StrategySettings;

export const STRATEGIES: Registry<StrategySettings> = {
  home: homeStrategy,
  consolidate: consolidateStrategy,
};

/** What the agent's decide() is told. */
export type BalancerConfig = ConfigOf<StrategySettings>;
