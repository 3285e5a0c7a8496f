// The home scenario: sized by its rule, the replayed home strategy is the one
// inventory.yaml configures, and on the 40-VM slice home beats the seed on
// overload-minutes and migrations (the days and variants: bench/simulate.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { policyConfig } from '../../../balancer/cycle.ts';
import { homeReplayConfig, seedReplayConfig } from '../../../balancer/sim/config.ts';
import { replayHome } from '../../../balancer/sim/home-replay.ts';
import { homeScenario, OVERLOAD } from '../../../balancer/sim/home-scenario.ts';
import { loadTrace } from '../../../balancer/sim/trace.ts';
import { loadInventory } from '../../../src/inventory/load.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SLICE = path.join(root, 'test/fixtures/traces/planetlab-slice');

describe('the home scenario', async () => {
  const trace = await loadTrace(SLICE);
  it.each([0.05, 0.1, 0.25])('unbalanced, the home is above 80 %% for about %s of the day', (peakShare) => {
    const s = homeScenario(trace, { vms: 20, peakShare });
    const none = replayHome(s, { ...homeReplayConfig, maxMigrationsPerRun: 0 }).metrics;
    expect(s.runs).toBe(1436);
    expect(none.migrations + none.remigrations).toBe(0);
    expect(Math.abs(none.overloadMinutes / s.runs - peakShare)).toBeLessThan(0.01);
    expect(OVERLOAD).toBe(0.8);
  });
  it('replays the home settings of inventory.yaml', async () => {
    const inv = await loadInventory(path.join(root, 'inventory.yaml'));
    const real = policyConfig(inv.balancer, []);
    expect(real.strategy).toBe('home');
    if (real.strategy !== 'home' || homeReplayConfig.strategy !== 'home') return;
    const { home: _a, helpers: _b, ...wanted } = real.settings;
    const { home: _c, helpers: _d, ...replayed } = homeReplayConfig.settings;
    expect(replayed).toEqual(wanted);
    expect(homeReplayConfig.maxMigrationsPerRun).toBe(real.maxMigrationsPerRun);
  });
  it('home beats seed on overload-minutes and migrations on the slice; nothing bounces', () => {
    const s = homeScenario(trace, { vms: 20 });
    const home = replayHome(s, homeReplayConfig).metrics;
    const seed = replayHome(s, seedReplayConfig).metrics;
    expect(home.overloadMinutes).toBeLessThan(seed.overloadMinutes);
    expect(home.migrations + home.remigrations).toBeLessThan(seed.migrations + seed.remigrations);
    expect(home.bounces).toBe(0);
    expect(home.vmHoursAway).toBeGreaterThan(0);
  });
});
