// CloudSim numbers VMs in the order File.listFiles() gives the day's files;
// the replay uses that order for the two published days, name order otherwise.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cloudsimOrder } from '../../../balancer/sim/cloudsim-order.ts';
import { CLOUDSIM_ORDER } from '../../../balancer/sim/cloudsim-order-data.ts';
import { loadTrace } from '../../../balancer/sim/trace.ts';

const SLICE = new URL('../../fixtures/traces/planetlab-slice', import.meta.url).pathname;
const SHARED = new URL('../../../../shared/traces/planetlab', import.meta.url).pathname;

describe("CloudSim's file order", () => {
  it.each([
    ['20110303', 1052],
    ['20110306', 898],
  ])('%s: %i distinct names (REFERENCE-SIM.md), not in name order', (day, n) => {
    const names = CLOUDSIM_ORDER[day] ?? [];
    expect(names.length).toBe(n);
    expect(new Set(names).size).toBe(n);
    expect(names).not.toEqual([...names].sort());
  });

  it("is used for exactly a published day's files: not a subset, not one name more", () => {
    const day = CLOUDSIM_ORDER['20110303'] ?? [];
    const sorted = [...day].sort();
    expect(cloudsimOrder(sorted)).toEqual({ day: '20110303', names: day });
    expect(cloudsimOrder(sorted.slice(1))).toBeUndefined();
    expect(cloudsimOrder([...sorted, 'zz_extra'].sort())).toBeUndefined();
    expect(cloudsimOrder([...sorted.slice(1), 'zz_extra'].sort())).toBeUndefined();
  });

  it('a slice of a day is read in name order', async () => {
    const t = await loadTrace(SLICE);
    expect(t.order).toBe('name');
    expect(t.names).toEqual([...t.names].sort());
  });

  it.skipIf(!existsSync(SHARED))('the published days in ../shared are read in that order, every file of the directory once', async () => {
    for (const day of ['20110303', '20110306']) {
      const t = await loadTrace(`${SHARED}/${day}`);
      expect(t.order).toBe('cloudsim');
      expect(t.names).toEqual(CLOUDSIM_ORDER[day]);
      expect([...t.names].sort()).toEqual((await readdir(`${SHARED}/${day}`)).sort());
    }
  });
});
