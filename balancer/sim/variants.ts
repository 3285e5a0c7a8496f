// Days the policy was not tuned on, made from the real ones: the day reversed,
// the day started 12 h later (wrapping), and every other VM only. Each changes
// when load peaks, which VMs share a host, and when CloudSim retires idle VMs.
import type { Trace } from './trace.ts';

export function reversed(t: Trace): Trace {
  const L = t.length;
  const s = new Float64Array(t.samples.length);
  for (let v = 0; v < t.names.length; v++) for (let k = 0; k < L; k++) s[v * L + k] = t.samples[v * L + (L - 1 - k)] as number;
  return { ...t, dir: `${t.dir} (reversed)`, samples: s };
}

export function shifted(t: Trace, steps: number): Trace {
  const L = t.length;
  const s = new Float64Array(t.samples.length);
  for (let v = 0; v < t.names.length; v++) for (let k = 0; k < L; k++) s[v * L + k] = t.samples[v * L + ((k + steps) % L)] as number;
  return { ...t, dir: `${t.dir} (shifted ${steps})`, samples: s };
}

/** The VMs at these positions, in this order, each with its own samples. */
function pick(t: Trace, order: readonly number[], dir: string): Trace {
  const L = t.length;
  const s = new Float64Array(order.length * L);
  order.forEach((old, i) => s.set(t.samples.subarray(old * L, old * L + L), i * L));
  return { ...t, dir, names: order.map((i) => t.names[i] as string), samples: s, order: 'variant' };
}

export function everyOther(t: Trace): Trace {
  return pick(t, t.names.map((_, i) => i).filter((i) => i % 2 === 1), `${t.dir} (every other VM)`);
}

/**
 * The same VMs listed in another order, shuffled by a seeded generator (the same seed, the same
 * order). CloudSim reads the trace files in directory order, and a VM's type (2,500 to 500 MIPS)
 * and its turn in the first placement follow from its position: the order CloudSim read a
 * published day in (cloudsim-order.ts) is one order among many (bench/simulate.ts --orders).
 */
export function shuffled(t: Trace, seed: number): Trace {
  let state = seed >>> 0;
  // the C library's linear congruential generator: enough to deal a list, and the same everywhere
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 1) / 2 ** 31;
  };
  const order = t.names.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return pick(t, order, `${t.dir} (order ${seed})`);
}

export const VARIANTS: readonly { readonly name: string; readonly make: (t: Trace) => Trace }[] = [
  { name: 'reversed', make: reversed },
  { name: 'shifted 12 h', make: (t) => shifted(t, 144) },
  { name: 'every other VM', make: everyOther },
];
