// The seed's rule, exactly: one test on the home's CPU each run, HVM2 then HVM3,
// the last one sent away comes back first, no windows, no cooldown.
import { describe, expect, it } from 'vitest';
import { replayDecide, type ReplayConfig } from '../../../balancer/sim/strategies.ts';
import type { Snapshot, VmState } from '../../../balancer/types.ts';

const seed: ReplayConfig = { strategy: 'seed', settings: { home: 'hvm1', helpers: ['hvm2', 'hvm3'], threshold: 0.8 }, maxMigrationsPerRun: 1, pinned: [], drained: [] };

function snapshot(placement: Record<string, string>, load: Record<string, number | undefined>): Snapshot {
  const vms: VmState[] = Object.entries(placement).map(([name, host]) => ({ name, host, home: 'hvm1', cpuUsed: load[name] ?? 0, memMiB: 512, pinned: false }));
  const hosts = ['hvm1', 'hvm2', 'hvm3'].map((name) => ({
    name, reachable: true, drained: false, cpuCapacity: 100, memTotalMiB: 4096, memAvailableMiB: 4096,
    cpuUsed: vms.filter((v) => v.host === name).reduce((s, v) => s + v.cpuUsed, 0),
  }));
  return { time: 1000, hosts, vms };
}

const home = { vm1: 'hvm1', vm2: 'hvm1', vm3: 'hvm1' };
const history = { hostUtilisation: new Map(), lastMigration: new Map([['vm2', 990]]) };

describe('seed: the thesis rule', () => {
  it.each([
    { name: 'above 80 %: the busiest VM to HVM2, at once (no window, no cooldown)', placement: home, load: { vm1: 30, vm2: 40, vm3: 15 }, want: ['vm2:hvm1->hvm2:migrate'] },
    { name: 'still above with one on HVM2: the next to HVM3', placement: { ...home, vm2: 'hvm2' }, load: { vm1: 50, vm2: 40, vm3: 35 }, want: ['vm1:hvm1->hvm3:migrate'] },
    { name: 'above with both helpers used: nothing more', placement: { vm1: 'hvm3', vm2: 'hvm2', vm3: 'hvm1' }, load: { vm3: 90 }, want: [] },
    { name: 'exactly 80 % is not above: the last one sent away (HVM3) comes back', placement: { vm1: 'hvm3', vm2: 'hvm2', vm3: 'hvm1' }, load: { vm3: 80 }, want: ['vm1:hvm3->hvm1:remigrate'] },
    { name: 'not above, one away on HVM2: back, even if that overloads the home again', placement: { ...home, vm2: 'hvm2' }, load: { vm1: 40, vm2: 60, vm3: 30 }, want: ['vm2:hvm2->hvm1:remigrate'] },
    { name: 'calm and all home: nothing', placement: home, load: { vm1: 10 }, want: [] },
  ])('$name', ({ placement, load, want }) => {
    const plan = replayDecide(snapshot(placement, load), seed, history);
    expect(plan.migrations.map((m) => `${m.vm}:${m.from}->${m.to}:${m.kind}`)).toEqual(want);
    if (want.length === 0) expect(plan.reasons.length).toBeGreaterThan(0);
  });
});
