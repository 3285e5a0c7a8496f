// The order in which CloudSim reads a day's trace files, which decides each
// VM's type: `PlanetLabHelper.createCloudletListPlanetLab` takes
// `inputFolder.listFiles()` unsorted, and VM i (type floor(i / ceil(n / 4)):
// 2500, 2000, 1000 or 500 MIPS) gets file i. listFiles() returns the
// directory's own order (readdir, `ls -U`), which on ext4 is a hash order
// fixed by the file system. CloudSim's reference figures (REFERENCE-SIM.md)
// were taken on this project's machines from ../shared/traces, whose order
// for the two published days is kept in cloudsim-order-data.ts (`ls -U`
// there, the same as a three-line Java listFiles() on it). With it, the
// replay lands within 0.6 % of CloudSim's energy for THR-MMT-0.8, MFPED and
// no migration on both days (balancer/sim/README.md); in name order,
// THR-MMT matched but MFPED drew 3.2 % more and no migration 5.2 % more.
//
// A directory holding exactly one of those days' files is read in that order;
// any other (another day, a slice) in name order, which is deterministic on
// every machine where readdir's is not.
import { CLOUDSIM_ORDER } from './cloudsim-order-data.ts';

/** CloudSim's order for these names when they are exactly one published day's files, else undefined. */
export function cloudsimOrder(sortedNames: readonly string[]): { readonly day: string; readonly names: readonly string[] } | undefined {
  for (const [day, names] of Object.entries(CLOUDSIM_ORDER)) {
    if (names.length !== sortedNames.length) continue;
    const mine = [...names].sort();
    if (mine.every((n, i) => n === sortedNames[i])) return { day, names };
  }
  return undefined;
}
