// The balancer configurations the simulator runs. Every host is alike (no
// homes), memory is exact (no margin), and the time unit is the trace's.
import type { BalancerConfig, PolicyName } from '../types.ts';
import { INTERVAL } from './model.ts';

const base = { home: [], helpers: [], pinned: [], drained: [], memMarginMiB: 0 } as const;

/** CloudSim's THR-MMT-0.8: static 80 % threshold, no windows, no cooldown, no limit. */
export const thrMmtConfig: BalancerConfig = {
  ...base,
  policy: 'thr-mmt',
  high: 0.8,
  low: 0,
  overloadWindow: 1,
  calmWindow: 1,
  cooldown: 0,
  maxMigrationsPerRun: Number.MAX_SAFE_INTEGER,
};

/** Ours: hysteresis (above 90 % for 2 measurements and predicted above it over the hour to
 * shed, below 40 % for 2 and predicted below it over the hour to empty), a 6-hour per-VM cooldown (a VM that moved is not moved again for convenience; an
 * overloaded host sheds another VM instead), at most 300 moves per run. Tuned on 20110303 and
 * 20110306 with round values; see README for the sweep. */
export const hvmctlConfig: BalancerConfig = {
  ...base,
  policy: 'hvmctl',
  high: 0.9,
  low: 0.4,
  overloadWindow: 2,
  calmWindow: 2,
  cooldown: 72 * INTERVAL,
  maxMigrationsPerRun: 300,
};

export function simConfig(policy: PolicyName): BalancerConfig {
  return policy === 'thr-mmt' ? thrMmtConfig : hvmctlConfig;
}
