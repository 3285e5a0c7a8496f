// Days the replay was not tuned on (balancer/sim/variants.ts), on a small
// hand-made trace: each VM's samples travel with its name.
import { describe, expect, it } from 'vitest';
import { everyOther, reversed, shifted, shuffled } from '../../../balancer/sim/variants.ts';
import type { Trace } from '../../../balancer/sim/trace.ts';

const n = 40;
const L = 3;
// VM v's samples are v, v + 0.001, v + 0.002 (scaled into 0..1): its name says which
const trace: Trace = {
  dir: 'hand-made',
  names: Array.from({ length: n }, (_, v) => `vm${String(v).padStart(2, '0')}`),
  samples: Float64Array.from({ length: n * L }, (_, i) => (Math.floor(i / L) + (i % L) / 1000) / 100),
  length: L,
  order: 'name',
};
const rowOf = (t: Trace, name: string): number[] => {
  const v = t.names.indexOf(name);
  return Array.from(t.samples.subarray(v * L, v * L + L));
};

describe('shuffled: the same VMs in another order', () => {
  it('is a permutation, each VM keeps its own samples, and the seed decides the order', () => {
    const a = shuffled(trace, 1);
    expect([...a.names].sort()).toEqual(trace.names);
    expect(a.names).not.toEqual(trace.names);
    for (const name of trace.names) expect(rowOf(a, name)).toEqual(rowOf(trace, name));
    expect(shuffled(trace, 1).names).toEqual(a.names);
    expect(shuffled(trace, 2).names).not.toEqual(a.names);
    expect(a.dir).toBe('hand-made (order 1)');
    // no longer CloudSim's order nor name order, and says so (the replay prints it)
    expect([a.order, everyOther(trace).order, reversed(trace).order]).toEqual(['variant', 'variant', trace.order]);
    // the trace handed in is untouched
    expect(trace.names[0]).toBe('vm00');
  });
});

describe('the other variants keep each VM with its samples', () => {
  it('reversed, shifted and every other VM', () => {
    expect(rowOf(reversed(trace), 'vm05')).toEqual([...rowOf(trace, 'vm05')].reverse());
    const [a, b, c] = rowOf(trace, 'vm05');
    expect(rowOf(shifted(trace, 1), 'vm05')).toEqual([b, c, a]);
    const odd = everyOther(trace);
    expect(odd.names).toEqual(trace.names.filter((_, i) => i % 2 === 1));
    expect(rowOf(odd, 'vm07')).toEqual(rowOf(trace, 'vm07'));
  });
});
