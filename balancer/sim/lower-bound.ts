// The physical lower bound of a day's energy: every MIPS the VMs ask for, run
// on the most efficient host there is at its most efficient point (full load,
// the fewest watts per MIPS), with nothing idle. No placement can do better, so
// a strategy's ratio to it says how much is left to win.
import type { HostType } from './model.ts';

/** Fewest watts per MIPS among the host types (at 100 %, the best point of a linear-ish curve). */
export function bestWattsPerMips(types: readonly HostType[]): number {
  let best = Infinity;
  for (const t of types) best = Math.min(best, (t.power[10] as number) / (t.cores * t.mipsPerCore));
  return best;
}

/** kWh for `demandMipsS` (MIPS × seconds requested over the day). */
export function lowerBoundKWh(demandMipsS: number, types: readonly HostType[]): number {
  return (demandMipsS * bestWattsPerMips(types)) / 3_600_000;
}
