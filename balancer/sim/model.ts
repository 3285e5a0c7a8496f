// CloudSim's PlanetLab set-up (REFERENCE-SIM.md; CloudSim examples power/Constants.java).
export const INTERVAL = 300;
export const HOST_RAM = 4096;
/** MB/s a migration moves: 1 Gbit/s, half of it for migration (CloudSim: bw / (2 * 8000)). */
export const MIGRATION_MB_PER_S = 1_000_000 / (2 * 8000);
export const MIGRATION_PENALTY = 0.1;

export interface HostType {
  readonly name: string;
  readonly cores: number;
  readonly mipsPerCore: number;
  readonly power: readonly number[];
}

export const HOST_TYPES: readonly HostType[] = [
  { name: 'HP ProLiant ML110 G4', cores: 2, mipsPerCore: 1860, power: [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117] },
  { name: 'HP ProLiant ML110 G5', cores: 2, mipsPerCore: 2660, power: [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135] },
];

export const VM_MIPS = [2500, 2000, 1000, 500] as const;
export const VM_RAM = [870, 1740, 1740, 613] as const;

export function hostType(i: number): HostType {
  return HOST_TYPES[i % HOST_TYPES.length] as HostType;
}

/** VM i of n: type floor(i / ceil(n / 4)). */
export function vmType(i: number, n: number): number {
  return Math.floor(i / Math.ceil(n / VM_MIPS.length));
}

/** Watts at utilisation u (0..1), linear between the 11 points (PowerModelSpecPower). */
export function power(model: readonly number[], u: number): number {
  const x = Math.min(1, Math.max(0, u)) * 10;
  const i = Math.min(9, Math.floor(x));
  const lo = model[i] as number;
  const hi = model[i + 1] as number;
  return lo + (hi - lo) * (x - i);
}

/** Energy (J) of a host over `seconds` as CloudSim counts it: the mean of the power at both
 * ends, nothing when it was idle (switched off) at the start. */
export function energyJ(model: readonly number[], from: number, to: number, seconds: number): number {
  if (from <= 0) return 0;
  return ((power(model, from) + power(model, to)) / 2) * seconds;
}
