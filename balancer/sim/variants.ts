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

export function everyOther(t: Trace): Trace {
  const L = t.length;
  const keep = t.names.map((_, i) => i).filter((i) => i % 2 === 1);
  const s = new Float64Array(keep.length * L);
  keep.forEach((old, i) => s.set(t.samples.subarray(old * L, old * L + L), i * L));
  return { ...t, dir: `${t.dir} (every other VM)`, names: keep.map((i) => t.names[i] as string), samples: s };
}

export const VARIANTS: readonly { readonly name: string; readonly make: (t: Trace) => Trace }[] = [
  { name: 'reversed', make: reversed },
  { name: 'shifted 12 h', make: (t) => shifted(t, 144) },
  { name: 'every other VM', make: everyOther },
];
