import { describe, expect, it } from 'vitest';
import { thrMmtConfig } from '../../../balancer/sim/config.ts';
import { hostInstant } from '../../../balancer/sim/host-state.ts';
import { energyJ, HOST_TYPES, power } from '../../../balancer/sim/model.ts';
import { simulate } from '../../../balancer/sim/simulate.ts';
import type { Trace } from '../../../balancer/sim/trace.ts';

const G4 = (HOST_TYPES[0] as { power: readonly number[] }).power;
const G5 = (HOST_TYPES[1] as { power: readonly number[] }).power;

function trace(rows: number[][]): Trace {
  const length = (rows[0] as number[]).length;
  return { dir: 'hand', names: rows.map((_, i) => `vm${i}`), samples: Float64Array.from(rows.flat()), length, order: 'name' };
}

describe('power and energy as CloudSim counts them', () => {
  it.each([
    { model: G4, u: 0, w: 86 },
    { model: G4, u: 0.5, w: 102 },
    { model: G4, u: 0.25, w: (92.6 + 96) / 2 },
    { model: G5, u: 1, w: 135 },
    { model: G5, u: 0.05, w: (93.7 + 97) / 2 },
  ])('power($u) = $w W', ({ model, u, w }) => {
    expect(power(model, u)).toBeCloseTo(w, 9);
  });
  it('energy is the mean of both ends, and nothing from an idle start', () => {
    expect(energyJ(G4, 0.5, 0, 300)).toBeCloseTo(((102 + 86) / 2) * 300, 9);
    expect(energyJ(G4, 0, 0.5, 300)).toBe(0);
  });
});

describe('a host at one instant (CloudSim VmSchedulerTimeSharedOverSubscription)', () => {
  it.each([
    { name: 'fits', guests: [{ request: 1000, share: 1 }, { request: 500, share: 1 }], used: 1500, requested: 1500, violated: false },
    { name: 'a request beyond one core is capped', guests: [{ request: 2000, share: 1 }], used: 1860, requested: 2000, violated: true },
    { name: 'beyond capacity is scaled down', guests: [{ request: 1800, share: 1 }, { request: 1800, share: 1 }, { request: 1800, share: 1 }], used: 3720, requested: 5400, violated: true },
    // migrating in: 10 % allocated, 100 % requested -> the destination violates during the move
    { name: 'a VM migrating in', guests: [{ request: 1000, share: 1 }, { request: 1000, share: 0.1 }], used: 1100, requested: 2000, violated: true },
  ])('$name', ({ guests, used, requested, violated }) => {
    const h = hostInstant(guests, 3720, 1860);
    expect(h.used).toBeCloseTo(used, 6);
    expect(h.requested).toBeCloseTo(requested, 6);
    expect(h.used < h.requested).toBe(violated);
  });
  it('a VM migrating out gets 90 %: the loss is 10 % of its request', () => {
    const h = hostInstant([{ request: 1000, share: 0.9 }], 3720, 1860);
    expect(h.outRequested - h.outAllocated).toBeCloseTo(100, 9);
  });
});

describe('simulate: 2 hosts, 2 VMs, 3 intervals, no migration, by hand', () => {
  // 2 VMs -> types 0 (2500 MIPS) and 1 (2000 MIPS). Host 0 is a G4 (2 x 1860), host 1 a G5 (2 x 2660).
  // At their full MIPS neither VM fits a G4 core, so both start on host 1 (4500 of 5320 MIPS).
  const t = trace([
    [0.4, 0.6, 0.2],
    [0.5, 1.0, 0.5],
  ]);
  const r = simulate(t, { config: { ...thrMmtConfig, maxMigrationsPerRun: 0 }, hosts: 2, removeIdleVms: false });
  it('energy: a trapezoid per interval on the one active host, to 0 after the last sample, from the first update at 300 s', () => {
    // host 1 asks 1000 + 1000, 1500 + 2000, 500 + 1000, then 0 MIPS
    const p = [2000 / 5320, 3500 / 5320, 1500 / 5320, 0].map((u) => power(G5, u));
    expect(p[0]).toBeCloseTo(105 + 5 * ((2000 / 5320 - 0.3) * 10), 9);
    // CloudSim's hosts start at 0 % until its first update at t = 300: [0, 300) counts nothing
    const joules = ((p[1]! + p[2]!) / 2 + (p[2]! + p[3]!) / 2) * 300;
    expect(r.metrics.energyKWh).toBeCloseTo(joules / 3_600_000, 12);
    expect(r.metrics.energyKWh).toBeCloseTo(0.01773, 5);
    expect(r.series.energyKWh[0]).toBe(0);
  });
  it('SLATAH 0 (never short of CPU), PDM 0, three active host-intervals', () => {
    expect(r.metrics.slatah).toBe(0);
    expect(r.metrics.pdm).toBe(0);
    expect(r.metrics.migrations).toBe(0);
    expect(r.series.overloadedHosts).toEqual([0, 0, 0]);
    expect(r.series.activeHosts).toEqual([1, 1, 1]);
  });
});

describe('simulate: one migration, its time and its cost', () => {
  // 3 VMs -> types 0,1,2 (ceil(3/4) = 1 each): 2500/870 MB, 2000/1740 MB, 1000/1740 MB.
  // thr-mmt at t = 300 s: whichever host asks > 80 % sheds its least-RAM VM.
  const t = trace([
    [0.1, 0.9, 0.9, 0.9],
    [0.1, 0.9, 0.9, 0.9],
    [0.1, 0.9, 0.9, 0.9],
  ]);
  const r = simulate(t, { config: thrMmtConfig, hosts: 4, removeIdleVms: false });
  it('counts migrations and charges 10 % of the moving VM for RAM / 62.5 MB/s', () => {
    expect(r.metrics.migrations).toBeGreaterThan(0);
    expect(r.metrics.pdm).toBeGreaterThan(0);
    // the loss can never exceed 10 % of the moved VMs' demand for 28 s (1740 MB) per migration
    const demand = (2500 + 2000 + 1000) * (0.1 * 300 + 0.9 * 900);
    expect(r.metrics.pdm).toBeLessThanOrEqual((r.metrics.migrations * 0.1 * 2500 * 0.9 * (1740 / 62.5)) / demand);
    expect(r.series.migrations[0]).toBe(0);
  });
  it('SLATAH: only the time destinations spend receiving (10 % given, 100 % asked) or hosts spend short', () => {
    // every VM asks 90 % from t = 300 s; whatever moves, a destination is short for at most the
    // move's duration (<= 1740 / 62.5 s) unless it is short anyway; it is a fraction of active time
    expect(r.metrics.slatah).toBeGreaterThan(0);
    expect(r.metrics.slatah).toBeLessThan(1);
  });
});
