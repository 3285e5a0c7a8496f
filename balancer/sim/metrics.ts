// The day's totals and CloudSim's formulas (examples/power/Helper.java).
export interface Totals {
  /** Joules drawn by active hosts. */
  energyJ: number;
  /** Seconds hosts were active, and of those, seconds they allocated less than requested. */
  activeS: number;
  violationS: number;
  /** MIPS·s requested by all VMs, and lost to migrations. */
  requestedMipsS: number;
  migrationLossMipsS: number;
  migrations: number;
}

export interface Metrics {
  readonly energyKWh: number;
  readonly migrations: number;
  /** Fractions (0..1). */
  readonly slatah: number;
  readonly pdm: number;
  readonly slav: number;
  readonly esv: number;
}

export function emptyTotals(): Totals {
  return { energyJ: 0, activeS: 0, violationS: 0, requestedMipsS: 0, migrationLossMipsS: 0, migrations: 0 };
}

export function metricsOf(t: Totals): Metrics {
  const energyKWh = t.energyJ / 3_600_000;
  const slatah = t.activeS > 0 ? t.violationS / t.activeS : 0;
  const pdm = t.requestedMipsS > 0 ? t.migrationLossMipsS / t.requestedMipsS : 0;
  const slav = slatah * pdm;
  return { energyKWh, migrations: t.migrations, slatah, pdm, slav, esv: energyKWh * slav };
}
