// The configurations replayed, one per strategy, each on the scenario it is
// for. On CloudSim's 800-host model (consolidate and the yardsticks) every host
// is alike (no homes), memory is exact (no margin), and one decision is made per
// 300 s. On the home scenario (home, seed) the balancer runs every minute with
// the default inventory's settings (test/balancer/sim/home-replay.test.ts holds
// them to inventory.yaml).
import { HELPERS, HOME } from './home-scenario.ts';
import { INTERVAL } from './model.ts';
import type { ReplayConfig, ReplayName } from './strategies.ts';

const common = { pinned: [], drained: [], memMarginMiB: 0 } as const;

/** CloudSim's THR-MMT-0.8: static 80 % threshold, no windows, no cooldown, no limit. */
export const thrMmtConfig: ReplayConfig = {
  ...common,
  strategy: 'thr-mmt',
  settings: { threshold: 0.8 },
  maxMigrationsPerRun: Number.MAX_SAFE_INTEGER,
};

/** Ours, with the inventory's defaults for `balancer.consolidate` except `high`: hysteresis
 * (above `high` for 2 measurements and predicted above it over the hour to shed, below 40 % for 2
 * and predicted below it over the hour to empty; any other host emptied only when the others
 * hold its VMs and keep room between them for the biggest VM's peak), a 10-minute per-VM cooldown doubled per
 * relief (a move off an overloaded host) within a day beyond the first. `high` is the share of a host's CPU its VMs may be predicted to use (mean + 2 σ):
 * the inventory's 90 % leaves the rest to the hypervisor itself on a real host; CloudSim's hosts
 * run nothing but their VMs and count a violation only past 100 %, so the replay fills to 100 %
 * (`bench/simulate.ts --consolidate-sweep` shows 90 % too: 128.33 / 97.71 kWh). No limit per
 * run, as the yardsticks (CloudSim has none): the first hour's ~900 forced moves go at once. */
export const consolidateConfig: ReplayConfig = {
  ...common,
  strategy: 'consolidate',
  settings: { high: 1, low: 0.4, overloadWindow: 2, calmWindow: 2, cooldown: 2 * INTERVAL, cooldownMemory: 288 * INTERVAL, history: 12 * INTERVAL },
  maxMigrationsPerRun: Number.MAX_SAFE_INTEGER,
};

/** MFPED (Moges & Abebe 2019) on LR-MMT-1.2, as their CloudSim class: safety 1.2, 0.7 fallback, medium 60 %. */
export const mfpedConfig: ReplayConfig = {
  ...common,
  strategy: 'mfped',
  settings: { safety: 1.2, fallback: 0.7, intervalS: INTERVAL, target: 0.6 },
  maxMigrationsPerRun: Number.MAX_SAFE_INTEGER,
};

/** The home strategy as inventory.yaml configures it (one move per run). */
export const homeReplayConfig: ReplayConfig = {
  pinned: [],
  drained: [],
  strategy: 'home',
  settings: { home: [HOME], helpers: [...HELPERS], high: 0.8, low: 0.5, overloadWindow: 2, calmWindow: 2, cooldown: 180 },
  maxMigrationsPerRun: 1,
};

/** The thesis' rule: maxhvm=80, HVM2 then HVM3. */
export const seedReplayConfig: ReplayConfig = {
  pinned: [],
  drained: [],
  strategy: 'seed',
  settings: { home: HOME, helpers: [...HELPERS], threshold: 0.8 },
  maxMigrationsPerRun: 1,
};

export type Scenario = 'cloudsim' | 'home';

/** Every replayable strategy, named, with the scenario it is judged on. */
export const REPLAYS: Readonly<Record<ReplayName, { readonly scenario: Scenario; readonly config: ReplayConfig }>> = {
  home: { scenario: 'home', config: homeReplayConfig },
  seed: { scenario: 'home', config: seedReplayConfig },
  consolidate: { scenario: 'cloudsim', config: consolidateConfig },
  'thr-mmt': { scenario: 'cloudsim', config: thrMmtConfig },
  mfped: { scenario: 'cloudsim', config: mfpedConfig },
};

export const CLOUDSIM_CONFIGS = {
  consolidate: consolidateConfig,
  'thr-mmt': thrMmtConfig,
  mfped: mfpedConfig,
} as const;
