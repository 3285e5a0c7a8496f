// The simulator's registry: the agent's strategies (STRATEGIES, the very
// objects that run on clusters) plus the yardsticks that only exist in replay.
// Keeping the yardsticks here keeps them out of the agent bundle.
import { decideWith } from '../policy/decide.ts';
import { STRATEGIES, type StrategySettings } from '../policy/strategies.ts';
import type { ConfigOf, Registry } from '../policy/strategy.ts';
import { mfpedStrategy, type MfpedSettings } from './mfped.ts';
import { seedStrategy, type SeedSettings } from './seed.ts';
import { thrMmtStrategy, type ThrMmtSettings } from './thr-mmt.ts';

export interface ReplaySettings extends StrategySettings {
  readonly 'thr-mmt': ThrMmtSettings;
  readonly seed: SeedSettings;
  readonly mfped: MfpedSettings;
}

export type ReplayName = keyof ReplaySettings;

export const REPLAY_STRATEGIES: Registry<ReplaySettings> = {
  ...STRATEGIES,
  'thr-mmt': thrMmtStrategy,
  seed: seedStrategy,
  mfped: mfpedStrategy,
};

export type ReplayConfig = ConfigOf<ReplaySettings>;

/** decide() with the yardsticks registered: the same function, a larger registry. */
export const replayDecide = decideWith(REPLAY_STRATEGIES);

export function isReplayName(name: string): name is ReplayName {
  return Object.hasOwn(REPLAY_STRATEGIES, name);
}
