// The physical lower bound of a day's energy: every MIPS the VMs ask for, run
// on the most efficient host there is at its most efficient point (full load,
// the fewest watts per MIPS), with nothing idle. No placement can do better, so
// a strategy's ratio to it says how much is left to win.
import type { HostType } from './model.ts';

/** Watts per MIPS of a host type at 100 %, the best point of a linear-ish curve. */
const wattsPerMips = (t: HostType): number => (t.power[10] as number) / (t.cores * t.mipsPerCore);

/** The host type with the fewest watts per MIPS (the G5 on CloudSim's model). */
export function mostEfficient(types: readonly HostType[]): HostType {
  let best = types[0] as HostType;
  for (const t of types) if (wattsPerMips(t) < wattsPerMips(best)) best = t;
  return best;
}

/** Fewest watts per MIPS among the host types. */
export function bestWattsPerMips(types: readonly HostType[]): number {
  return wattsPerMips(mostEfficient(types));
}

/** kWh for `demandMipsS` (MIPS × seconds requested over the day). */
export function lowerBoundKWh(demandMipsS: number, types: readonly HostType[]): number {
  return (demandMipsS * bestWattsPerMips(types)) / 3_600_000;
}
