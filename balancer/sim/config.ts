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

/** Ours: hysteresis (high/low), windows of measurements, a per-VM cooldown, a per-run limit. */
export const hvmctlConfig: BalancerConfig = {
  ...base,
  policy: 'hvmctl',
  high: 0.9,
  low: 0.4,
  overloadWindow: 2,
  calmWindow: 6,
  cooldown: 12 * INTERVAL,
  maxMigrationsPerRun: 60,
};

export function simConfig(policy: PolicyName): BalancerConfig {
  return policy === 'thr-mmt' ? thrMmtConfig : hvmctlConfig;
}
