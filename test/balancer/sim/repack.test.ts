import { describe, expect, it } from 'vitest';
import { HOST_TYPES, power } from '../../../balancer/sim/model.ts';
import { repack } from '../../../balancer/sim/repack.ts';
import type { Trace } from '../../../balancer/sim/trace.ts';

const G5 = (HOST_TYPES[1] as { power: readonly number[] }).power;

// VM i of 4 has CloudSim's type i: 2500, 2000, 1000 and 500 MIPS.
function trace(rows: number[][]): Trace {
  const length = (rows[0] as number[]).length;
  return { dir: 'hand', names: rows.map((_, i) => `vm${i}`), samples: Float64Array.from(rows.flat()), length, order: 'name' };
}

describe('repack: every VM packed afresh at each decision to mean + z σ', () => {
  it('packs steady VMs best fit decreasing onto G5 hosts and counts their energy as the simulator does', () => {
    // 2500 + 2000 + 1000 + 500 = 6000 MIPS > 5320: two hosts. Best fit, largest first: 2500, then
    // 2000 beside it (4500), 1000 alone (5500 would not fit), 500 on the fuller host (5000).
    const r = repack(trace([[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]), 2);
    expect(r.meanHosts).toBe(2);
    expect(r.overShare).toBe(0);
    const full = power(G5, 5000 / 5320);
    const small = power(G5, 1000 / 5320);
    // decision 1: the same load at both ends; decision 2: the trace ends, so the far end asks nothing
    const joules = (full + small) * 300 + ((full + power(G5, 0)) / 2 + (small + power(G5, 0)) / 2) * 300;
    expect(r.energyKWh).toBeCloseTo(joules / 3_600_000, 9);
  });

  it('keeps z σ of head-room: VMs that share one host at z = 0 need two at z = 2', () => {
    // All four at 60 %, 100 %, 60 %, 100 %, 60 %: 3600 and 6000 MIPS in turn. At z = 0 the means
    // (4400–4800) fit one host, which is over capacity at each decision that asks for 100 %. At
    // z = 2 (e.g. the first decision: means 4800, σ 678) the 1000-MIPS VM needs a second host,
    // and no host is over at any decision.
    const wave = [0.6, 1, 0.6, 1, 0.6];
    const z0 = repack(trace([wave, wave, wave, wave]), 0);
    const z2 = repack(trace([wave, wave, wave, wave]), 2);
    expect(z0.meanHosts).toBe(1);
    expect(z0.overShare).toBe(0.5);
    expect(z2.meanHosts).toBe(2);
    expect(z2.overShare).toBe(0);
    expect(z2.energyKWh).toBeGreaterThan(z0.energyKWh);
  });

  it('retires a VM as the simulator does (two zero samples in a row) and packs nothing for it', () => {
    const r = repack(trace([[1, 0, 0, 0], [0.1, 0.1, 0.1, 0.1], [0, 0, 0, 0], [0, 0, 0, 0]]), 2);
    // vm0 is gone from the first decision on; vm1 (2000 MIPS at 10 %) is alone on one host
    expect(r.meanHosts).toBe(1);
  });
});
